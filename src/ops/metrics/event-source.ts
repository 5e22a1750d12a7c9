// What the metrics need from an emitter: to add and remove listeners of its typed events. Runners, the timer
// mover, rate limiters and the retention loop are all EventEmitters of their event maps; fakes in tests can be too.
export interface EventSource<TEvents extends Record<keyof TEvents, unknown[]>> {
  on<K extends keyof TEvents & string>(event: K, listener: (...args: TEvents[K]) => void): unknown;
  off<K extends keyof TEvents & string>(event: K, listener: (...args: TEvents[K]) => void): unknown;
}

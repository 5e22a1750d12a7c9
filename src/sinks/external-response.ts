// Reading an external provider's answer safely: the body cap is counted on the stream, not taken from headers.
import type { Dispatcher } from 'undici';
import { PermanentError } from '../errors.js';

/** Reads the body as UTF-8, aborting as soon as it passes `maxBytes`; Content-Length is only an early refusal. */
export async function readCappedBody(
  response: Dispatcher.ResponseData,
  maxBytes: number,
  origin: string,
): Promise<string> {
  const tooLarge = (): PermanentError => new PermanentError(`${origin} answered more than ${maxBytes} bytes`);
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) {
      response.body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

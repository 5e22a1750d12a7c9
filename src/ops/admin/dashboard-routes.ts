// The dashboard's static files: index.html, app.js and app.css from ./dashboard beside this module, and uPlot's
// dist files from node_modules, read once at start and served with ETags (no bundler, no build server).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { errorMessage } from '../../errors.js';
import type { AdminRoute } from './admin-context.js';
import type { AdminReply } from './http-io.js';
import { pathPattern, problem, redirect } from './http-io.js';

interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/** URL path -> where the file comes from. */
const DASHBOARD_FILES: Readonly<Record<string, { readonly url: URL; readonly contentType: string }>> = {
  '/dashboard/': { url: new URL('./dashboard/index.html', import.meta.url), contentType: 'text/html' },
  '/dashboard/app.js': {
    url: new URL('./dashboard/app.js', import.meta.url),
    contentType: 'text/javascript',
  },
  '/dashboard/app.css': { url: new URL('./dashboard/app.css', import.meta.url), contentType: 'text/css' },
};

const UPLOT_FILES: Readonly<Record<string, { readonly module: string; readonly contentType: string }>> = {
  '/vendor/uplot/uPlot.iife.min.js': {
    module: 'uplot/dist/uPlot.iife.min.js',
    contentType: 'text/javascript',
  },
  '/vendor/uplot/uPlot.min.css': { module: 'uplot/dist/uPlot.min.css', contentType: 'text/css' },
};

/** Reads every file now; a missing one is logged once and answers 404 (e.g. a build that did not copy them). */
export function dashboardRoutes(logger: Pick<Logger, 'warn'>): AdminRoute[] {
  const files = new Map<string, StaticFile>();
  const missing: string[] = [];
  const load = (path: string, read: () => Buffer, contentType: string): void => {
    try {
      const body = read();
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      files.set(path, { body, contentType: `${contentType}; charset=utf-8`, etag });
    } catch (error) {
      missing.push(`${path} (${errorMessage(error)})`);
    }
  };
  for (const [path, file] of Object.entries(DASHBOARD_FILES))
    load(path, () => readFileSync(file.url), file.contentType);
  const require = createRequire(import.meta.url);
  for (const [path, file] of Object.entries(UPLOT_FILES))
    load(path, () => readFileSync(require.resolve(file.module)), file.contentType);
  if (missing.length > 0) logger.warn({ missing }, 'admin dashboard: some of its files cannot be read');

  const serve = (path: string, ifNoneMatch: string | undefined): AdminReply => {
    const file = files.get(path);
    if (file === undefined) return problem(404, 'not-found', `dashboard file ${path} is not available`);
    const headers = { 'Content-Type': file.contentType, ETag: file.etag, 'Cache-Control': 'no-cache' };
    if (ifNoneMatch === file.etag) return { status: 304, headers, body: '' };
    return { status: 200, headers, body: file.body };
  };

  return [
    { method: 'GET', path: pathPattern('/'), access: 'read', handle: () => redirect('/dashboard/') },
    {
      method: 'GET',
      path: pathPattern('/dashboard'),
      access: 'read',
      handle: () => redirect('/dashboard/'),
    },
    ...[...Object.keys(DASHBOARD_FILES), ...Object.keys(UPLOT_FILES)].map((path): AdminRoute => ({
      method: 'GET',
      path: pathPattern(path),
      access: 'read',
      handle: (ctx) => serve(path, ctx.req.headers['if-none-match']),
    })),
  ];
}

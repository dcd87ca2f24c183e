import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the console (dist/console), seen from dist/apps/api-gateway/src. */
export const CONSOLE_DIR = join(__dirname, '..', '..', '..', 'console');
export const CONSOLE_PATH = '/console';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * Everything the page may load comes from this origin (docs/contract.md §9: nothing from a CDN); inline
 * style attributes are allowed because the chart and dialog libraries set them.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

interface StaticFile {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  /** Vite's hashed assets never change under the same name; index.html must always be revalidated. */
  immutable: boolean;
}

/** Reads the built console into memory: a few hundred kB, so no request path ever reaches the file system. */
export function loadConsole(dir: string): Map<string, StaticFile> | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, StaticFile>();
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      const body = readFileSync(path);
      const type = TYPES[extname(name)] ?? 'application/octet-stream';
      const compressible = /text|javascript|json|svg/.test(type) && body.length > 1024;
      const url = relative(dir, path).split(sep).join('/');
      files.set(url, { body, gzip: compressible ? gzipSync(body, { level: 9 }) : null, type, immutable: url.startsWith('assets/') });
    }
  };
  walk(dir);
  return files;
}

/**
 * Serves the web console under /console (SPA: any other path under it gets index.html, except
 * missing assets, which are 404s) and redirects / there. These routes are plain Fastify routes,
 * outside Nest's guard: the page itself holds no data; every API call it makes carries a token.
 */
export function registerConsole(fastify: FastifyInstance, dir = CONSOLE_DIR): void {
  const files = loadConsole(dir);
  const send = (request: FastifyRequest, reply: FastifyReply, file: StaticFile) => {
    const gzip = file.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    reply
      .header('content-type', file.type)
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('vary', 'accept-encoding');
    if (file.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer');
    if (gzip) reply.header('content-encoding', 'gzip');
    return reply.send(gzip ? file.gzip : file.body);
  };
  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    if (!files) {
      return reply.code(404).type('text/plain; charset=utf-8').send(`The web console is not built: run \`npm run build\` (it writes ${dir}).\n`);
    }
    // Built file names are plain ASCII, so the raw path is looked up as it came (no decoding to get wrong).
    const path = request.url.split('?')[0].slice(CONSOLE_PATH.length).replace(/^\/+/, '');
    const file = files.get(path);
    if (file) return send(request, reply, file);
    if (path.startsWith('assets/')) return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
    return send(request, reply, files.get('index.html') as StaticFile);
  };
  fastify.get('/', (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`, 302));
  fastify.get(CONSOLE_PATH, (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`, 301));
  fastify.get(`${CONSOLE_PATH}/*`, handler);
}

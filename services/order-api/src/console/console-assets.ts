import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Files of the page at most; its build has a handful. */
const MAX_FILES = 200;
const MAX_BYTES = 20 * 1024 * 1024;

export interface ConsoleFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Built files under assets/ have a content hash in their name and never change. */
  readonly immutable: boolean;
}

export interface ConsoleAssets {
  readonly dir: string;
  /** By path relative to the folder, with `/` separators; `index.html` is always there. */
  readonly files: ReadonlyMap<string, ConsoleFile>;
}

export type LoadedAssets =
  | { readonly ok: true; readonly assets: ConsoleAssets }
  | { readonly ok: false; readonly dir: string | null; readonly reason: string };

/** The built page's folder: dist/ of the @notify/console workspace, found through its package. */
export function defaultAssetsDir(): string | null {
  try {
    return fileURLToPath(new URL('dist/', import.meta.resolve('@notify/console/package.json')));
  } catch {
    return null;
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
      if (out.length > MAX_FILES) throw new Error(`more than ${MAX_FILES} files`);
    }
  };
  await walk(dir);
  return out;
}

/**
 * Reads the built page into memory once, at start-up: the files are few and small, and
 * a request can then only ever name one of them (no path is ever joined from a URL).
 * Files of a type not listed above are not served.
 */
export async function loadConsoleAssets(dir: string | null): Promise<LoadedAssets> {
  if (!dir) return { ok: false, dir: null, reason: 'the @notify/console package is not installed' };
  try {
    const index = await stat(join(dir, 'index.html')).catch(() => null);
    if (!index?.isFile()) return { ok: false, dir, reason: `${join(dir, 'index.html')} does not exist` };
    const files = new Map<string, ConsoleFile>();
    let bytes = 0;
    for (const path of await listFiles(dir)) {
      const contentType = CONTENT_TYPES[extname(path).toLowerCase()];
      if (!contentType) continue;
      const body = await readFile(path);
      bytes += body.length;
      if (bytes > MAX_BYTES) throw new Error(`more than ${MAX_BYTES} bytes`);
      const name = relative(dir, path).split(sep).join('/');
      files.set(name, { body, contentType, immutable: name.startsWith('assets/') });
    }
    return { ok: true, assets: { dir, files } };
  } catch (err) {
    return { ok: false, dir, reason: `the page could not be read (${(err as Error).message})` };
  }
}

// Start the real `loket demo` (or `loket serve`) on a free port with a fresh data directory.
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const binary = process.env.LOKET_BIN;

export async function startDemo() {
  if (!binary || !existsSync(binary)) {
    throw new Error(`LOKET_BIN must point at a built loket binary (got ${binary})`);
  }
  const data = mkdtempSync(join(tmpdir(), 'loket-e2e-'));
  const child = spawn(binary, ['demo', '--listen', '127.0.0.1:0', '--data', data], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  let endpoints;
  await whenReady(child, 'loket demo', () => stderr, async () => {
    endpoints = JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8'));
    // The operations address checks every service of the process.
    return (await fetch(`${endpoints.operations}/readyz`)).ok;
  });
  const { portal, werkplek } = endpoints;
  return {
    portal,
    werkplek,
    /** The demo employees' passwords (made on first start). */
    passwords() {
      return JSON.parse(readFileSync(join(data, 'keys', 'werkplek-wachtwoorden.json'), 'utf8'));
    },
    /** Apply on a resident's behalf with `loket apply`; the case's identificatie. */
    async apply(product, bsn, answers, documents = {}) {
      const args = ['apply', '--data', data, '--product', product, '--bsn', bsn];
      for (const [name, value] of Object.entries(answers)) args.push('--answer', `${name}=${value}`);
      for (const [name, path] of Object.entries(documents)) args.push('--document', `${name}=${path}`);
      const { stdout } = await promisify(execFile)(binary, args);
      return stdout.split(/\s+/)[0];
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on loopback. */
/**
 * `count` free ports, all different: each is held until all are taken, since ports
 * asked for one at a time may come back the same.
 */
export async function freePorts(count) {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * Start `loket serve` (production mode) with `portal` settings on `port`, and the
 * workspace with `werkplek` settings when given; `staff` accounts are added first.
 */
export async function startServe({ port, portal, werkplek, staff = [] }) {
  if (!binary || !existsSync(binary)) {
    throw new Error(`LOKET_BIN must point at a built loket binary (got ${binary})`);
  }
  const data = mkdtempSync(join(tmpdir(), 'loket-e2e-serve-'));
  const lines = [
    'municipality = "Gemeente Voorbeeldstad"',
    'municipality_code = "9999"',
    'rsin = "123456782"',
    '[storage]', `url = "sqlite:${data}"`,
    '[portal]', `listen = "127.0.0.1:${port}"`,
    ...Object.entries(portal).map(([key, value]) =>
      (typeof value === 'object' ? `[portal.${key}]\n${Object.entries(value).map(([k, v]) => `${k} = "${v}"`).join('\n')}` : `${key} = "${value}"`)),
  ];
  if (werkplek) {
    lines.push('[werkplek]', ...Object.entries(werkplek).map(([key, value]) =>
      (typeof value === 'object' ? `[werkplek.${key}]\n${Object.entries(value).map(([k, v]) => `${k} = "${v}"`).join('\n')}` : `${key} = "${value}"`)));
  }
  writeFileSync(join(data, 'loket.toml'), `${lines.join('\n')}\n`);
  for (const { id, naam, rol } of staff) {
    await promisify(execFile)(binary, ['staff', 'add', '--id', id, '--naam', naam, '--rol', rol, '--storage', `sqlite:${data}`],
      { env: { ...process.env, LOKET_WACHTWOORD: 'een-lang-wachtwoord-voor-de-test' } });
  }
  const base = `http://127.0.0.1:${port}`;
  const stop = await runServe(join(data, 'loket.toml'), base);
  return {
    portal: base,
    async stop() {
      await stop();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/**
 * Whether the service at `base` is ready: its `/readyz`, or, for the portal (which keeps
 * readiness for the operations address), its `/healthz`.
 */
async function isReady(base) {
  const ready = await fetch(`${base}/readyz`);
  if (ready.status !== 404) return ready.ok;
  return (await fetch(`${base}/healthz`)).ok;
}

/**
 * Run `loket serve --config <path>` until its server at `base` is ready; returns the
 * function that stops it. For a configuration written by the test itself.
 */
export async function runServe(path, base) {
  if (!binary || !existsSync(binary)) {
    throw new Error(`LOKET_BIN must point at a built loket binary (got ${binary})`);
  }
  const child = spawn(binary, ['serve', '--config', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  await whenReady(child, 'loket serve', () => stderr, async () => isReady(base));
  return async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  };
}

/** Run the `loket` command line; its standard output. Fails with its standard error. */
export async function loketCommand(...args) {
  const { stdout } = await promisify(execFile)(binary, args);
  return stdout;
}

/** Wait up to 30 s for `ready()` to hold while `child` runs; fail with its stderr. */
async function whenReady(child, name, stderr, ready) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited early:\n${stderr()}`);
    try {
      if (await ready()) return;
    } catch {
      // not there yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} was not ready within 30 s:\n${stderr()}`);
}

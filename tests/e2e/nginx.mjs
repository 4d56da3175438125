// nginx running deploy/nginx.conf for the tests and benchmarks (the
// cluster test, bench/cluster.mjs --nginx): only the ports, paths and
// certificate are changed; a throw-away self-signed certificate; upstream
// ports[0] and ports[1] (the same port twice for one instance). Resolves
// { base (https://127.0.0.1:PORT), proc, dir, stop() }.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import assert from 'node:assert/strict';
import { sleep, ROOT } from './lib.mjs';

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

// nginx with deploy/nginx.conf, only the ports, paths and certificate changed.
export async function startNginx(ports) {
  const dir = mkdtempSync(join(tmpdir(), 'coachd-nginx-'));
  const tls = await freePort(), plain = await freePort();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  let conf = readFileSync(join(ROOT, 'deploy', 'nginx.conf'), 'utf8');
  const sub = (from, to) => { assert.ok(conf.includes(from), `deploy/nginx.conf has ${from}`); conf = conf.split(from).join(to); };
  sub('server 127.0.0.1:8081', `server 127.0.0.1:${ports[0]}`);
  sub('server 127.0.0.1:8082', `server 127.0.0.1:${ports[1]}`);
  sub('listen 443 ssl http2;', `listen 127.0.0.1:${tls} ssl http2;`);
  sub('listen [::]:443 ssl http2;', '');
  sub('listen 80;', `listen 127.0.0.1:${plain};`);
  sub('listen [::]:80;', '');
  sub('/etc/ssl/coachd/fullchain.pem', join(dir, 'cert.pem'));
  sub('/etc/ssl/coachd/privkey.pem', join(dir, 'key.pem'));
  sub('pid /run/nginx-coachd.pid;', `pid ${join(dir, 'nginx.pid')};`);
  sub('/var/log/nginx/coachd-error.log', join(dir, 'error.log'));
  sub('worker_processes auto;', 'worker_processes 1;');   // round robin in order
  // temporary files under the test's directory, so it runs without root too
  sub('http {', `http {\n    client_body_temp_path ${dir}/body;\n    proxy_temp_path ${dir}/proxy;\n` +
    `    fastcgi_temp_path ${dir}/fastcgi;\n    uwsgi_temp_path ${dir}/uwsgi;\n    scgi_temp_path ${dir}/scgi;`);
  writeFileSync(join(dir, 'nginx.conf'), conf);
  execFileSync('nginx', ['-t', '-q', '-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')]);
  const proc = spawn('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'],
    { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    if (await new Promise((r) => { const c = net.connect(tls, '127.0.0.1', () => { c.end(); r(true); }); c.on('error', () => r(false)); })) break;
    await sleep(100);
  }
  return {
    base: `https://127.0.0.1:${tls}`, proc, dir,
    async stop() { proc.kill('SIGQUIT'); await new Promise((r) => proc.exitCode !== null ? r() : proc.on('exit', r)); rmSync(dir, { recursive: true, force: true }); },
  };
}


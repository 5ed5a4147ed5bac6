import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitForPort } from '#devkit/net.js';
import { type Started, spawnQuiet } from '#devkit/spawn.js';

/** How the benches' nginx peer proxies: plain requests over kept-alive upstream sockets, or WebSocket upgrades. */
export interface NginxPeer {
  /** `keepalive` upstream sockets (plain requests), or 0 for none (each upgrade needs its own socket). */
  readonly keepalive: number;
  /** Pass `Upgrade` and `Connection: upgrade` on, as nginx's WebSocket guide gives. */
  readonly websocket: boolean;
}

/**
 * nginx with one worker, no access log, hashing the URI (each connection's request_id) over
 * `addresses` with `hash $request_uri consistent`, as bench:proxy and bench:websocket compare
 * Ringmaster against. Its files live under `work/nginx`. Resolves once its port is open (nginx
 * prints nothing when it starts well).
 */
export async function startNginx(
  work: string,
  addresses: readonly string[],
  peer: NginxPeer,
): Promise<{ proc: Started; port: number }> {
  const port = await freePort();
  const dir = join(work, 'nginx');
  execFileSync('mkdir', ['-p', join(dir, 'tmp'), join(dir, 'logs')]);
  const servers = addresses.map((a) => `server ${a.replace('http://', '')};`).join('\n    ');
  const keepalive = peer.keepalive > 0 ? `keepalive ${peer.keepalive};\n    keepalive_requests 1000000;` : '';
  // A round's WebSocket runs for seconds: the timeouts leave room to spare.
  const headers = peer.websocket
    ? `proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;`
    : 'proxy_set_header Connection "";';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
error_log ${dir}/logs/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  upstream backends {
    hash $request_uri consistent;
    ${servers}
    ${keepalive}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      ${headers}
    }
  }
}
`,
  );
  const proc = spawnQuiet('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
  await waitForPort(port);
  return { proc, port };
}

import { connectPeer } from './test/e2e/util/tunnel-peer.ts';
import { api, enrolDevice, pattern, sha256, startOrigin, startTunnelServer, userAccessToken } from './test/e2e/util/tunnel-setup.ts';
const { server, fx } = await startTunnelServer();
const origin = await startOrigin();
try {
  const device = await enrolDevice(server);
  const peer = await connectPeer({ baseUrl: server.url, jwt: await device.jwt(), forward: origin.url });
  const { code } = await peer.control('claim_code');
  const user = await userAccessToken(server, fx);
  const claimed = await api(server, user, '/api/devices/claim', { method: 'POST', body: JSON.stringify({ claimCode: code }) });
  console.log('claim', claimed.status);
  const authorized = await api(server, user, `/api/devices/${device.deviceId}/authorize`, { method: 'POST' });
  const token = ((await authorized.json()) as { token: string }).token;
  const url = (p: string) => `${server.url}/devices/${device.deviceId}/proxy${p}`;
  for (const n of [1024, 1 << 20, 8 << 20, 32 << 20]) {
    const t = performance.now();
    const res = await fetch(url(`/bytes?n=${n}`), { headers: { 'X-Device-Access-Token': token } });
    const b = new Uint8Array(await res.arrayBuffer());
    const ms = performance.now() - t;
    console.log('download', n, res.status, b.byteLength, ms.toFixed(1), 'ms', (n / 1e6 / (ms / 1000)).toFixed(1), 'MB/s');
  }
  for (const n of [1 << 20, 8 << 20, 32 << 20]) {
    const body = pattern(n);
    const t = performance.now();
    try {
      const res = await fetch(url(`/upload`), { method: 'POST', body, headers: { 'X-Device-Access-Token': token } });
      const j = await res.text();
      const ms = performance.now() - t;
      console.log('upload', n, res.status, j.slice(0, 100), ms.toFixed(1), 'ms', (n / 1e6 / (ms / 1000)).toFixed(1), 'MB/s');
    } catch (e) { console.log('upload failed', n, e); }
  }
  peer.close();
} finally {
  console.log(server.output().slice(-3000));
  await origin.close();
  await server.stop();
}

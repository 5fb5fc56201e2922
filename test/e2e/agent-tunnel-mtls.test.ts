/**
 * `gatehouse-agent connect --mtls`: the device authenticates with its certificate in the TLS handshake, as behind
 * Cloudflare mTLS (docs/tunnel-protocol.md §15), and sends no bearer token. A local TLS server that asks for a client
 * certificate stands in for Cloudflare's edge: it records the certificate the agent presented, then speaks the tunnel.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { generateDeviceKey, privateKeyPem } from '../../agent/csr.ts';
import { pemOf, saveState } from '../../agent/state.ts';
import { loadCa } from '../../lib/pki/ca.ts';
import { generateCa, randomSerialHex } from '../../lib/pki/dev-ca.ts';
import { issueDeviceCertificate } from '../../lib/pki/issue.ts';
import { TUNNEL_SUBPROTOCOL, encodeControl } from '../../lib/tunnel/index.ts';
import { ROOT } from './fixtures.ts';
import { until } from './agent-tunnel-harness.test-fixture.ts';

const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-agent-mtls-'));
const stateDir = path.join(work, 'state');
const deviceId = crypto.randomUUID();
const handshakes: { fingerprint: string; authorized: boolean; authorization: string | undefined }[] = [];
let deviceFingerprint: string;
let server: Server;
let url: string;

beforeAll(async () => {
  const generated = await generateCa({ name: 'Agent mTLS test' });
  const ca = await loadCa({ certPem: generated.issuingCertPem, keyPem: generated.issuingKeyPem, chainPem: generated.rootCertPem });
  const keys = await generateDeviceKey();
  const device = await issueDeviceCertificate({ ca, publicKey: keys.publicKey, deviceId, crlUrl: 'http://127.0.0.1:9/pki/crl' });
  deviceFingerprint = createHash('sha256').update(Buffer.from(new x509.X509Certificate(device.pem).rawData)).digest('hex');
  const chainPem = pemOf([ca.cert, ...ca.chain]);

  // The edge's own certificate, for 127.0.0.1; the agent trusts it through NODE_EXTRA_CA_CERTS.
  const edgeKeys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const edgeCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: 'CN=127.0.0.1',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys: edgeKeys,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]), new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  writeFileSync(path.join(work, 'edge.pem'), edgeCert.toString('pem'));

  // Like Cloudflare: ask for a client certificate, verify it against the uploaded CA, and tell the Worker the result.
  server = createServer({ cert: edgeCert.toString('pem'), key: await privateKeyPem(edgeKeys.privateKey), requestCert: true, rejectUnauthorized: false, ca: chainPem });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => (offered.has(TUNNEL_SUBPROTOCOL) ? TUNNEL_SUBPROTOCOL : false) });
  server.on('upgrade', (req, socket, head) => {
    const tls = socket as TLSSocket;
    handshakes.push({ fingerprint: tls.getPeerCertificate().fingerprint256?.replace(/:/g, '').toLowerCase() ?? '', authorized: tls.authorized, authorization: req.headers.authorization });
    wss.handleUpgrade(req, socket, head, (ws) => ws.send(encodeControl({ type: 'config', pingIntervalSeconds: 15, pingTimeoutSeconds: 10 })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  saveState(stateDir, { deviceId, url, serial: null, enrolledAt: new Date().toISOString(), keyPem: await privateKeyPem(keys.privateKey), certPem: device.pem, chainPem });
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

describe('gatehouse-agent connect --mtls', () => {
  it('presents the device certificate (with its chain) in the TLS handshake and no bearer token', async () => {
    const child = spawn(process.execPath, ['agent/cli.ts', 'connect', '--forward', 'http://127.0.0.1:9', '--state-dir', stateDir, '--mtls'], {
      cwd: ROOT,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(work, 'edge.pem') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await until(() => out.includes(`connected device=${deviceId} url=wss://127.0.0.1:`), 15_000, 'the agent to connect');
      expect(handshakes).toHaveLength(1);
      // The certificate chained to the CA the edge trusts (Cloudflare's certVerified = SUCCESS), and it is the device's.
      expect(handshakes[0]).toEqual({ fingerprint: deviceFingerprint, authorized: true, authorization: undefined });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
  }, 30_000);
});

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { bytesToHex } from '../encoding.ts';
import { CaInvalid } from './errors.ts';
import { caKeyAlgorithm, type SignAlgorithm } from './keys.ts';
import { decodePem } from './pem.ts';

/** The CA secrets as configured (`CA_CERT`, `CA_KEY`, `CA_CHAIN`): PEM, the key as unencrypted PKCS#8. */
export type CaMaterial = { certPem: string; keyPem: string; chainPem?: string };

/** An issuing CA ready to sign: its certificate, private key and the chain from it up to the root. */
export type LoadedCa = {
  /** The issuing CA certificate (signs device certificates and the CRL). */
  cert: x509.X509Certificate;
  privateKey: CryptoKey;
  /** WebCrypto parameters for signing with `privateKey`. */
  signingAlgorithm: SignAlgorithm;
  /** Key identifier for the AKI of everything this CA signs (RFC 5280 §4.2.1.1): its SKI, else the SHA-1 of its key. */
  keyIdHex: string;
  /** Issuing CA first, then each issuer up to and including the self-signed root. */
  chain: x509.X509Certificate[];
  /** DER of `chain`, in the same order: what `cacerts` serves (RFC 7030 §4.1.3). */
  chainDer: Uint8Array<ArrayBuffer>[];
};

const MAX_CHAIN = 5;

function parseCerts(pem: string, what: string): x509.X509Certificate[] {
  let blocks;
  try {
    blocks = decodePem(pem);
  } catch (e) {
    throw new CaInvalid(`${what}: ${e instanceof Error ? e.message : 'bad PEM'}`);
  }
  return blocks
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => {
      try {
        return new x509.X509Certificate(b.der);
      } catch {
        throw new CaInvalid(`${what}: a CERTIFICATE block does not parse`);
      }
    });
}

const sameBytes = (a: ArrayBuffer, b: ArrayBuffer): boolean =>
  bytesToHex(new Uint8Array(a)) === bytesToHex(new Uint8Array(b));

/** True when `issuer` names and signed `cert` (RFC 5280 §6.1.3 (a)(1) and (a)(4)). */
export async function issuedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  if (!sameBytes(cert.issuerName.toArrayBuffer(), issuer.subjectName.toArrayBuffer())) return false;
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

/** True when `cert` may sign certificates: BasicConstraints cA, and keyCertSign if it has KeyUsage (RFC 5280 §4.2.1.9). */
export function isCaCertificate(cert: x509.X509Certificate): boolean {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  return !!bc?.ca && (!ku || (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0);
}

async function orderChain(issuing: x509.X509Certificate, pool: x509.X509Certificate[]): Promise<x509.X509Certificate[]> {
  const chain = [issuing];
  for (let current = issuing; ; ) {
    if (await issuedBy(current, current)) return chain;
    if (chain.length >= MAX_CHAIN) throw new CaInvalid(`chain longer than ${MAX_CHAIN}`);
    let next: x509.X509Certificate | undefined;
    for (const candidate of pool) if (!chain.includes(candidate) && (await issuedBy(current, candidate))) next = candidate;
    if (!next) throw new CaInvalid(`no issuer of "${current.subject}" in CA_CHAIN: the chain must reach a self-signed root`);
    if (!isCaCertificate(next)) throw new CaInvalid(`"${next.subject}" is not a CA certificate`);
    chain.push(next);
    current = next;
  }
}

/**
 * Loads the issuing CA from PEM secrets. `certPem` holds the issuing certificate (first block) and may carry the rest
 * of the chain; `chainPem` may add the intermediates and root. The key must match the certificate, the chain must
 * reach a self-signed root, and the issuing certificate must be allowed to sign certificates and CRLs.
 * Pure and async: callers cache the result per isolate.
 */
export async function loadCa(material: CaMaterial): Promise<LoadedCa> {
  const [issuing, ...extra] = parseCerts(material.certPem, 'CA_CERT');
  if (!issuing) throw new CaInvalid('CA_CERT holds no CERTIFICATE block');
  const pool = [...extra, ...(material.chainPem ? parseCerts(material.chainPem, 'CA_CHAIN') : [])].filter(
    (c) => !sameBytes(c.rawData, issuing.rawData),
  );
  if (!isCaCertificate(issuing)) throw new CaInvalid('CA_CERT is not a CA certificate (BasicConstraints cA, keyCertSign)');
  const ku = issuing.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.cRLSign) === 0) throw new CaInvalid('CA_CERT lacks the cRLSign key usage');

  const alg = caKeyAlgorithm(new Uint8Array(issuing.publicKey.rawData));
  if (!alg) throw new CaInvalid('CA key must be ECDSA P-256/P-384 or RSA');
  let keyBlocks;
  try {
    keyBlocks = decodePem(material.keyPem);
  } catch (e) {
    throw new CaInvalid(`CA_KEY: ${e instanceof Error ? e.message : 'bad PEM'}`);
  }
  const keyBlock = keyBlocks.find((b) => b.label === 'PRIVATE KEY');
  if (!keyBlock) {
    const labels = keyBlocks.map((b) => b.label).join(', ') || 'no PEM block';
    throw new CaInvalid(`CA_KEY holds ${labels}: it must be unencrypted PKCS#8 (\`openssl pkcs8 -topk8 -nocrypt\`)`);
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey('pkcs8', keyBlock.der, alg.importAlg, false, ['sign']);
  } catch {
    throw new CaInvalid('CA_KEY does not import as the key type of CA_CERT');
  }
  // Proof that the key belongs to the certificate: sign a probe and check it with the certificate's public key.
  const probe = crypto.getRandomValues(new Uint8Array(32));
  const publicKey = await issuing.publicKey.export(alg.importAlg, ['verify']);
  const verifyAlg = { ...alg.signingAlgorithm, ...privateKey.algorithm };
  const signature = await crypto.subtle.sign(verifyAlg, privateKey, probe);
  if (!(await crypto.subtle.verify(verifyAlg, publicKey, signature, probe))) {
    throw new CaInvalid('CA_KEY does not match CA_CERT');
  }

  const chain = await orderChain(issuing, pool);
  const ski = issuing.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyIdHex = ski?.keyId ?? bytesToHex(new Uint8Array(await issuing.publicKey.getKeyIdentifier()));
  return {
    cert: issuing,
    privateKey,
    signingAlgorithm: alg.signingAlgorithm,
    keyIdHex: keyIdHex.toLowerCase(),
    chain,
    chainDer: chain.map((c) => new Uint8Array(c.rawData)),
  };
}

/**
 * A self-signed RSA X.509 certificate made with node:crypto alone (node can parse certificates
 * but not create them): a minimal DER encoder for the few ASN.1 types a certificate needs,
 * a v3 TBSCertificate (CN subject = issuer, basicConstraints CA, keyUsage digitalSignature +
 * keyCertSign), signed sha256WithRSAEncryption with its own key.
 *
 * Enough for distribution's token auth: the certificate is both the registry's
 * `rootcertbundle` and the JWT header's `x5c` chain.
 */
import { generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';

// ---------------------------------------------------------------------------
// DER
// ---------------------------------------------------------------------------

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 + n, inner);
const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
const octetString = (bytes: Buffer): Buffer => tlv(0x04, bytes);
const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));

/** A non-negative INTEGER from big-endian bytes (minimal form, sign byte when needed). */
function integer(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && (bytes[i + 1]! & 0x80) === 0) i++;
  const trimmed = bytes.subarray(i);
  return tlv(0x02, (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function smallInteger(n: number): Buffer {
  return integer(Buffer.from([n]));
}

/** BIT STRING with `unusedBits` padding bits in the last byte. */
function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.from([unusedBits]), bytes);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime (years 1950-2049), "YYMMDDHHMMSSZ". */
function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.678Z
  const text = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

const OID = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
} as const;

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

// ---------------------------------------------------------------------------
// certificate
// ---------------------------------------------------------------------------

export interface SelfSignedCert {
  /** PEM "CERTIFICATE" block (a registry's rootcertbundle). */
  certPem: string;
  /** The DER bytes (base64 of these is the JWT `x5c` entry). */
  certDer: Buffer;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface SelfSignedOptions {
  commonName: string;
  /** Validity starts this long ago (clock skew). Default 1 h. */
  backdateMs?: number;
  /** Default 1 day. */
  lifetimeMs?: number;
  /** RSA modulus length. Default 2048. */
  modulusLength?: number;
}

export function selfSignedCert(opts: SelfSignedOptions): SelfSignedCert {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: opts.modulusLength ?? 2048 });
  const now = Date.now();
  const notBefore = new Date(now - (opts.backdateMs ?? 3_600_000));
  const notAfter = new Date(now + (opts.lifetimeMs ?? 86_400_000));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and non-zero
  const algorithm = sequence(oid(OID.sha256WithRSAEncryption), nullValue());
  const subject = name(opts.commonName);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // keyUsage: digitalSignature (bit 0) + keyCertSign (bit 5) = 1000 0100, 2 unused bits.
  const keyUsage = bitString(Buffer.from([0x84]), 2);
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    integer(serial),
    algorithm,
    subject, // issuer (self-signed)
    sequence(utcTime(notBefore), utcTime(notAfter)),
    subject,
    spki,
    explicit(3, sequence(extension(OID.basicConstraints, true, sequence(boolean(true))), extension(OID.keyUsage, true, keyUsage))),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certDer = sequence(tbs, algorithm, bitString(signature));
  const body = certDer
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  const certPem = `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;

  // Self-check with node's own parser: a malformed encoding fails here, not deep in a registry.
  const parsed = new X509Certificate(certPem);
  if (!parsed.verify(publicKey)) throw new Error('self-signed certificate does not verify with its own key');
  if (!parsed.checkIssued(parsed)) throw new Error('self-signed certificate is not its own issuer');
  return { certPem, certDer, privateKey, publicKey };
}

// ---------------------------------------------------------------------------
// JWT (RS256, x5c header)
// ---------------------------------------------------------------------------

export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** An RS256 JWT whose header carries the signing certificate as `x5c`. */
export function signJwt(claims: Record<string, unknown>, cert: SelfSignedCert): string {
  const header = { typ: 'JWT', alg: 'RS256', x5c: [cert.certDer.toString('base64')] };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${base64url(sign('sha256', Buffer.from(input), cert.privateKey))}`;
}

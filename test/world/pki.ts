/**
 * A throw-away PKI for tests, made with the `openssl` CLI (OpenSSL 3.0): one trusted root CA,
 * one CA that nobody trusts, and leaf certificates issued on demand.
 *
 * Every leaf goes through `openssl ca` because OpenSSL 3.0's `x509 -req` cannot back-date:
 * `-startdate`/`-enddate` are how expired and not-yet-valid certificates are made. `openssl ca`
 * keeps a database per CA, so issuance is serialised. Keys are EC P-256 (fast to generate).
 * Issued files are cached by kind and names, in memory and on disk, so repeated calls are cheap
 * and a second `createTestPki` on the same directory reuses everything.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What a leaf certificate is made to be. */
export type LeafKind =
  /** Signed by the trusted root, valid now, names as SAN DNS entries. */
  | 'valid'
  /** Validity ended yesterday. */
  | 'expired'
  /** Validity starts tomorrow. */
  | 'not-yet-valid'
  /** Valid dates and names, signed by a CA nobody trusts. */
  | 'untrusted'
  /** Signed by the trusted root, the first name in the subject CN, and no subjectAltName at all. */
  | 'cn-only';

export const LEAF_KINDS: readonly LeafKind[] = ['valid', 'expired', 'not-yet-valid', 'untrusted', 'cn-only'];

export interface LeafRequest {
  /** DNS names; the first is also the subject CN. At least one. */
  readonly names: readonly string[];
  readonly kind?: LeafKind;
}

export interface Leaf {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface TestPki {
  readonly dir: string;
  /** The trusted root: give it to the client (`ca` option or NODE_EXTRA_CA_CERTS). */
  readonly caCertPem: string;
  readonly caCertPath: string;
  /** The root nobody trusts (signs `untrusted` leaves). */
  readonly untrustedCaCertPem: string;
  issueLeaf(request: LeafRequest): Promise<Leaf>;
}

const DAY_MS = 86_400_000;
/** Valid leaves start a day early so that small clock differences never matter. */
const VALID_FROM_DAYS = -1;
const VALID_TO_DAYS = 365;
const CA_DAYS = 3650;

/** `openssl ca` accepts GeneralizedTime `YYYYMMDDHHMMSSZ` for -startdate/-enddate. */
function asn1Time(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

function validityFor(kind: LeafKind, now: number): { start: string; end: string } {
  switch (kind) {
    case 'valid':
    case 'untrusted':
    case 'cn-only':
      return { start: asn1Time(now + VALID_FROM_DAYS * DAY_MS), end: asn1Time(now + VALID_TO_DAYS * DAY_MS) };
    case 'expired':
      return { start: asn1Time(now - 30 * DAY_MS), end: asn1Time(now - DAY_MS) };
    case 'not-yet-valid':
      return { start: asn1Time(now + DAY_MS), end: asn1Time(now + 30 * DAY_MS) };
    default: {
      const _never: never = kind;
      throw new Error(`unknown leaf kind ${String(_never)}`);
    }
  }
}

const NAME_RE = /^[A-Za-z0-9*._-]+$/;

function caConfig(caDir: string): string {
  return [
    '[ ca ]',
    'default_ca = test_ca',
    '[ test_ca ]',
    `dir = ${caDir}`,
    'database = $dir/index.txt',
    'new_certs_dir = $dir/newcerts',
    'certificate = $dir/ca.crt',
    'private_key = $dir/ca.key',
    'serial = $dir/serial',
    'default_md = sha256',
    'default_days = 365',
    'policy = policy_any',
    'unique_subject = no',
    'email_in_dn = no',
    'copy_extensions = none',
    '[ policy_any ]',
    'commonName = supplied',
    '[ req ]',
    'distinguished_name = req_dn',
    'prompt = no',
    '[ req_dn ]',
    'CN = unused',
    '[ v3_ca ]',
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '',
  ].join('\n');
}

function leafExtensions(names: readonly string[], withSan: boolean): string {
  const lines = [
    '[ leaf ]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ];
  if (withSan) lines.push(`subjectAltName = ${names.map((n) => `DNS:${n}`).join(', ')}`);
  return lines.join('\n') + '\n';
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', [...args], { maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    throw new Error(`openssl ${args[0] ?? ''} failed: ${e.stderr ?? e.message ?? String(err)}`);
  }
}

async function newKey(path: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

/** Creates (or reuses) one CA directory with its `openssl ca` database. */
async function ensureCa(caDir: string, commonName: string): Promise<void> {
  const cert = join(caDir, 'ca.crt');
  if (await exists(cert)) return;
  await mkdir(join(caDir, 'newcerts'), { recursive: true });
  const cnf = join(caDir, 'ca.cnf');
  await writeFile(cnf, caConfig(caDir));
  await writeFile(join(caDir, 'index.txt'), '');
  await writeFile(join(caDir, 'serial'), '1000\n');
  await newKey(join(caDir, 'ca.key'));
  await openssl([
    'req',
    '-x509',
    '-new',
    '-config',
    cnf,
    '-extensions',
    'v3_ca',
    '-key',
    join(caDir, 'ca.key'),
    '-subj',
    `/CN=${commonName}`,
    '-days',
    String(CA_DAYS),
    '-out',
    cert,
  ]);
}

/**
 * Creates the PKI in `dir` (made if missing; reused if it already holds one).
 */
export async function createTestPki(dir: string): Promise<TestPki> {
  const rootDir = join(dir, 'root-ca');
  const untrustedDir = join(dir, 'untrusted-ca');
  const leavesDir = join(dir, 'leaves');
  await mkdir(leavesDir, { recursive: true });
  await ensureCa(rootDir, 'mta-sts-bridge Test Root CA');
  await ensureCa(untrustedDir, 'mta-sts-bridge Untrusted Test CA');
  const caCertPath = join(rootDir, 'ca.crt');
  const caCertPem = await readFile(caCertPath, 'utf8');
  const untrustedCaCertPem = await readFile(join(untrustedDir, 'ca.crt'), 'utf8');

  const memo = new Map<string, Promise<Leaf>>();
  // `openssl ca` rewrites its index and serial files: one issuance at a time.
  let queue: Promise<unknown> = Promise.resolve();

  async function issue(names: readonly string[], kind: LeafKind, base: string): Promise<Leaf> {
    const certPath = `${base}.crt`;
    const keyPath = `${base}.key`;
    if (!((await exists(certPath)) && (await exists(keyPath)))) {
      const csrPath = `${base}.csr`;
      const extPath = `${base}.ext`;
      const caDir = kind === 'untrusted' ? untrustedDir : rootDir;
      await newKey(keyPath);
      await openssl(['req', '-new', '-config', join(caDir, 'ca.cnf'), '-key', keyPath, '-subj', `/CN=${names[0] ?? ''}`, '-out', csrPath]);
      await writeFile(extPath, leafExtensions(names, kind !== 'cn-only'));
      const { start, end } = validityFor(kind, Date.now());
      await openssl([
        'ca',
        '-batch',
        '-notext',
        '-config',
        join(caDir, 'ca.cnf'),
        '-in',
        csrPath,
        '-out',
        `${certPath}.tmp`,
        '-startdate',
        start,
        '-enddate',
        end,
        '-extfile',
        extPath,
        '-extensions',
        'leaf',
      ]);
      // Renamed only when complete, so a crash never leaves a half-written cache entry.
      await rename(`${certPath}.tmp`, certPath);
    }
    return { certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8'), certPath, keyPath };
  }

  return {
    dir,
    caCertPem,
    caCertPath,
    untrustedCaCertPem,
    issueLeaf(request: LeafRequest): Promise<Leaf> {
      const kind = request.kind ?? 'valid';
      const names = [...request.names];
      if (names.length === 0) return Promise.reject(new Error('issueLeaf: at least one name is required'));
      const bad = names.find((n) => !NAME_RE.test(n));
      if (bad !== undefined) return Promise.reject(new Error(`issueLeaf: unsupported name ${JSON.stringify(bad)}`));
      const key = JSON.stringify([kind, names]);
      const cached = memo.get(key);
      if (cached) return cached;
      const slug = `${kind}-${names[0]!.replace(/\*/g, '_wild_')}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
      const job = queue.then(() => issue(names, kind, join(leavesDir, slug)));
      queue = job.catch(() => undefined);
      memo.set(key, job);
      job.catch(() => memo.delete(key));
      return job;
    },
  };
}

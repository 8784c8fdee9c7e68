// Verifies a verifiable credential (a file named as the first argument) with the Digital
// Credentials Consortium's libraries: its Data Integrity proof (eddsa-rdfc-2022, the key
// resolved from the issuer's did:key), its validity dates, and its BitstringStatusList
// status, whose list credential is fetched and verified too. Used by
// tests/api/credentials.rs on the credentials the service serves.
//
// Offline: every JSON-LD context comes from the loader's bundled copies, and the only
// document fetched is the status list, from the URL given with
// `--status-lists PUBLIC_PREFIX=LOCAL_PREFIX` (the service's public status-list URLs mapped
// to the test's server). Any other URL is refused.
//
// Prints one JSON line {verified, revoked, errors} and exits 0 when verified, 1 when not.
import { readFileSync } from 'node:fs';
import { DataIntegrityProof } from '@digitalcredentials/data-integrity';
import { cryptosuite as eddsaRdfc2022CryptoSuite } from '@digitalcredentials/eddsa-rdfc-2022-cryptosuite';
import { securityLoader } from '@digitalcredentials/security-document-loader';
import * as vc from '@digitalcredentials/vc';
import { checkStatus } from '@digitalcredentials/vc-bitstring-status-list';

const [file, flag, mapping] = process.argv.slice(2);
if (!file || (flag !== undefined && (flag !== '--status-lists' || !mapping?.includes('=')))) {
  console.error('usage: verify.mjs CREDENTIAL.json [--status-lists PUBLIC_PREFIX=LOCAL_PREFIX]');
  process.exit(2);
}
const [publicPrefix, localPrefix] = mapping ? mapping.split(/=(.*)/s) : [];

const bundled = securityLoader({ fetchRemoteContexts: false }).build();
async function documentLoader(url) {
  if (publicPrefix && url.startsWith(publicPrefix)) {
    const local = localPrefix + url.slice(publicPrefix.length);
    const response = await fetch(local, { headers: { Accept: 'application/json' } });
    if (!response.ok) {
      throw new Error(`${local} answered ${response.status}`);
    }
    return { contextUrl: null, documentUrl: url, document: await response.json() };
  }
  return bundled(url);
}

const credential = JSON.parse(readFileSync(file, 'utf8'));
const suite = new DataIntegrityProof({ cryptosuite: eddsaRdfc2022CryptoSuite });

let result;
try {
  result = await vc.verifyCredential({ credential, suite, documentLoader, checkStatus });
} catch (error) {
  result = { verified: false, error };
}

const errors = [];
const collect = (error) => {
  if (!error) return;
  for (const e of error.errors ?? [error]) errors.push(e.message ?? String(e));
};
collect(result.error);
for (const r of result.results ?? []) collect(r.error);
collect(result.statusResult?.error);
// Revoked: the signature held and the list was read, and it has the credential's bit set.
const revoked =
  (result.statusResult?.results ?? []).some((r) => r.verified === false) &&
  result.statusResult?.error === undefined;

console.log(JSON.stringify({ verified: result.verified === true, revoked, errors }));
process.exit(result.verified === true ? 0 : 1);

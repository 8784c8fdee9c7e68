// Validates an AsyncAPI document (a file named as the argument, or stdin) with the published
// parser, prints every diagnostic, and exits 1 when any is an error. Used by
// tests/api/asyncapi.rs on the document the service serves.
import { readFileSync } from 'node:fs';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';

const file = process.argv[2];
const text = readFileSync(file ?? 0, 'utf8');
const { document, diagnostics } = await new Parser().parse(text, { source: file });

for (const d of diagnostics) {
  const at = d.path.length ? d.path.join('.') : '(document)';
  console.log(`${DiagnosticSeverity[d.severity] ?? d.severity} ${d.code} at ${at}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
// The parser returns no document when it rejects one; an error-free run without one would
// still be a rejection.
if (errors > 0 || document === undefined) {
  console.log(`invalid: ${errors} error(s)`);
  process.exit(1);
}
console.log(`valid AsyncAPI ${document.version()}: ${diagnostics.length} diagnostic(s), none an error`);

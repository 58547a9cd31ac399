#!/usr/bin/env node
// The `streetwatch` command: the CLI is TypeScript, run through tsx's loader like `npm start`.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});

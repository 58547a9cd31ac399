import type { z } from 'zod';

/** ['rules', 2, 'above'] → "rules[2].above" */
export function formatPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** One line for a validation failure: the first issue with its path, and how many more. */
export function describeZodError(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  const [first, ...rest] = error.issues;
  if (!first) return 'invalid';
  const where = formatPath([...prefix, ...first.path]);
  const more = rest.length > 0 ? ` (and ${rest.length} more issue${rest.length > 1 ? 's' : ''})` : '';
  return `${where ? `${where}: ` : ''}${first.message}${more}`;
}

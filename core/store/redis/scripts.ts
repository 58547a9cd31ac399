import { readFileSync } from 'node:fs';

/** The Lua scripts the stores run, each in `lua/<kebab-case name>.lua` beside this file. */
export const SCRIPT_NAMES = [
  'addDevice',
  'setIfExists',
  'setStatus',
  'touch',
  'removeDevice',
  'updateDevice',
  'saveTrust',
  'saveTicket',
  'findOpenByAlert',
  'listTickets',
  'findOpen',
  'markDelivered',
  'markFailed',
  'indexOutboxUnits',
  'pruneSettled',
  'claim',
  'completeTimer',
  'addToken',
  'compareAndSet',
  'revokeToken',
  'pruneReports',
] as const;

export type ScriptName = (typeof SCRIPT_NAMES)[number];

/**
 * The scripts' source, read once when the module loads (start-up): a missing file fails there,
 * not at the first ticket. Read relative to this module, as tsx and vitest run the sources in
 * place; a bundle of this module would have to ship the lua/ folder beside it.
 */
export const LUA: Readonly<Record<ScriptName, string>> = Object.fromEntries(
  SCRIPT_NAMES.map((name) => [name, readFileSync(new URL(`./lua/${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}.lua`, import.meta.url), 'utf8')]),
) as Record<ScriptName, string>;

/**
 * The governance test city: the base fixture city with a flood response plan and communities
 * and grids (test/fixtures/governance), and the places the tests use in it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config.js';
import { FIXTURE_CITY, tempDir } from './harness.js';

const OVERRIDES = path.join(REPO_ROOT, 'test', 'fixtures', 'governance');

/** In the north tunnel (a high-risk underpass of sub-center north, community north-west, not in a grid). */
export const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
/** In the south, in community south-east and its grid south-east-1. */
export const IN_SOUTH_GRID = { lat: 23.115, lon: 113.335 };
/** In the south, in community south-east, outside its grid. */
export const IN_SOUTH_COMMUNITY = { lat: 23.115, lon: 113.325 };

/** A fresh copy of the governance city (a test may edit its copy). */
export function governanceCity(): string {
  const dir = tempDir('gov-city');
  for (const f of fs.readdirSync(FIXTURE_CITY)) fs.copyFileSync(path.join(FIXTURE_CITY, f), path.join(dir, f));
  for (const f of fs.readdirSync(OVERRIDES)) fs.copyFileSync(path.join(OVERRIDES, f), path.join(dir, f));
  return dir;
}

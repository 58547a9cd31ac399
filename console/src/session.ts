/**
 * The signed-in operator: the token (kept in this tab's sessionStorage only, so closing the tab
 * signs out), who the server says it belongs to, and the city data every page needs.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient, Area, ConsoleConfig, Principal, SubcenterProps, ZoneProps } from './api.js';
import type { TicketFeed } from './feed.js';

const TOKEN_KEY = 'streetwatch.token';
/**
 * A wall screen's display token, kept in localStorage: the wall computer restarts and must come
 * back to the wall without anyone signing in. It can only read the wall view.
 */
const DISPLAY_TOKEN_KEY = 'streetwatch.display';

export function storedDisplayToken(): string | null {
  return localStorage.getItem(DISPLAY_TOKEN_KEY);
}

export function storeDisplayToken(token: string | null): void {
  if (token === null) localStorage.removeItem(DISPLAY_TOKEN_KEY);
  else localStorage.setItem(DISPLAY_TOKEN_KEY, token);
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export interface Session {
  client: ApiClient;
  config: ConsoleConfig;
  principal: Principal;
  isAdmin: boolean;
  /** The unit a unit token acts for (a sub-center, community, grid, or the district center); undefined otherwise. */
  unitId: string | undefined;
  /** The department a department token acts for; undefined otherwise. */
  department: string | undefined;
  subcenters: Area<SubcenterProps>;
  zones: Area<ZoneProps>;
  feed: TicketFeed;
  /** A unit's name: a sub-center's, a community's, a grid's, the district center's. */
  subcenterName(id: string): string;
  zoneName(id: string | null): string;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

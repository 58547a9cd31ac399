import type { Zone } from '../../core/city.js';
import { CityPlaces } from '../../core/city-index.js';
import type { OperatorCity } from '../../core/schemas.js';

/** The city as the platform publishes it to operators, indexed for the geofence and the filters. */
export class CityView {
  readonly places: CityPlaces;
  readonly categories: ReadonlyMap<string, OperatorCity['categories'][number]>;
  readonly departments: ReadonlyMap<string, OperatorCity['departments'][number]>;

  constructor(readonly doc: OperatorCity) {
    this.places = new CityPlaces(doc.zones, doc.subcenters);
    this.categories = new Map(doc.categories.map((c) => [c.id, c]));
    this.departments = new Map(doc.departments.map((d) => [d.id, d]));
  }

  /** The zones with these ids that the city knows, in the order given. */
  zonesOf(ids: readonly string[]): Zone[] {
    return ids.map((id) => this.places.zoneById.get(id)).filter((z) => z !== undefined);
  }

  /** A summary of the city for the editor: names and ids, no geometry. */
  outline(): { name: string; zones: { id: string; name: string; kind: string; risk: string; tags: string[] }[]; subcenters: { id: string; name: string }[]; categories: { id: string; name: string; department: string }[]; departments: { id: string; name: string }[] } {
    return {
      name: this.doc.name,
      zones: this.doc.zones.map(({ id, name, kind, risk, tags }) => ({ id, name, kind, risk, tags })),
      subcenters: [...this.doc.subcenters.map(({ id, name }) => ({ id, name })), { id: this.doc.district.id, name: this.doc.district.name }],
      categories: this.doc.categories,
      departments: this.doc.departments,
    };
  }
}

/** Parses the retained city message; throws when it is not a city. */
export function parseCity(payload: Buffer | string): CityView {
  const doc = JSON.parse(payload.toString()) as OperatorCity;
  if (!doc || !Array.isArray(doc.zones) || !Array.isArray(doc.subcenters) || !Array.isArray(doc.categories) || !Array.isArray(doc.departments)) {
    throw new Error('the city message has no zones, sub-centers, categories or departments');
  }
  return new CityView(doc);
}

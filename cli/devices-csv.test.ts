import { describe, expect, it } from 'vitest';
import { parseDeviceCsv } from './devices-csv.js';

describe('parseDeviceCsv', () => {
  it('reads devices with the columns in any order, a BOM, CRLF, quotes and comments', () => {
    const text = '\uFEFFkind,id,lat,lon\r\n# tunnel sensors\r\nwater_level,wl-0001,23.1451,113.3152\r\n"smoke","sm-0001", 23.11 ,113.33\r\n\r\n';
    expect(parseDeviceCsv(text)).toEqual({
      devices: [
        { id: 'wl-0001', kind: 'water_level', location: { lat: 23.1451, lon: 113.3152 } },
        { id: 'sm-0001', kind: 'smoke', location: { lat: 23.11, lon: 113.33 } },
      ],
      errors: [],
    });
  });

  it('reports every bad row with its line, and keeps the good ones', () => {
    const text = ['id,kind,lat,lon', 'ok-1,gas,23.1,113.3', 'bad/id,gas,23.1,113.3', 'ok-2,gas,north,113.3', 'ok-3,Gas,23.1,113.3', 'ok-4,gas,91,113.3', 'ok-1,gas,23.2,113.3', 'ok-5,gas,,113.3'].join('\n');
    const r = parseDeviceCsv(text);
    expect(r.devices.map((d) => d.id)).toEqual(['ok-1']);
    expect(r.errors).toEqual([
      expect.stringMatching(/^line 3: id: must match/),
      expect.stringMatching(/^line 4: location\.lat: /),
      expect.stringMatching(/^line 5: kind: must match/),
      expect.stringMatching(/^line 6: location\.lat: /),
      'line 7: device "ok-1" is already on line 2',
      expect.stringMatching(/^line 8: location\.lat: /),
    ]);
  });

  it('insists on the header', () => {
    expect(parseDeviceCsv('id,kind,latitude,lon\nx,gas,1,2\n').errors).toEqual(['line 1: the header must name the columns id,kind,lat,lon; missing: lat; unknown: latitude']);
    expect(parseDeviceCsv('id,kind,lat,lon\nx,gas,1\n').errors[0]).toMatch(/column/i);
    expect(parseDeviceCsv('')).toEqual({ devices: [], errors: [] });
  });
});

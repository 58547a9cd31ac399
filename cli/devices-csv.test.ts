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

  it('reads the provisioning columns: mobile, gateway, SenML name and mapping table', () => {
    const text = [
      'id,kind,lat,lon,mobile,gateway,senml_name,senml_map',
      'bus-1,noise,23.1,113.3,true,,,',
      'gw-1,gateway,23.1,113.3,,,2001:db8::2,',
      'ow-1,manhole,23.1,113.3,false,gw-1,2001:db8::1,open=manhole_open;@/=valve;voltage@V=mains_voltage',
      'bad-1,noise,23.1,113.3,maybe,,,',
      'bad-2,noise,23.1,113.3,,,,open',
    ].join('\n');
    const r = parseDeviceCsv(text);
    expect(r.devices).toEqual([
      { id: 'bus-1', kind: 'noise', location: { lat: 23.1, lon: 113.3 }, mobile: true },
      { id: 'gw-1', kind: 'gateway', location: { lat: 23.1, lon: 113.3 }, senml: { name: '2001:db8::2', map: [] } },
      {
        id: 'ow-1',
        kind: 'manhole',
        location: { lat: 23.1, lon: 113.3 },
        mobile: false,
        gateway: 'gw-1',
        senml: { name: '2001:db8::1', map: [{ suffix: 'open', metric: 'manhole_open' }, { unit: '/', metric: 'valve' }, { suffix: 'voltage', unit: 'V', metric: 'mains_voltage' }] },
      },
    ]);
    expect(r.errors).toEqual(['line 5: mobile: "maybe" is not true or false', 'line 6: senml_map: "open" is not suffix=metric, @unit=metric or suffix@unit=metric']);
  });

  it('insists on the header', () => {
    expect(parseDeviceCsv('id,kind,latitude,lon\nx,gas,1,2\n').errors).toEqual([
      'line 1: the header must name the columns id,kind,lat,lon (and may name mobile,gateway,senml_name,senml_map); missing: lat; unknown: latitude',
    ]);
    expect(parseDeviceCsv('id,kind,lat,lon\nx,gas,1\n').errors[0]).toMatch(/column/i);
    expect(parseDeviceCsv('')).toEqual({ devices: [], errors: [] });
  });
});

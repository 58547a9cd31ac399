import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CITY_DIR, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.mqtt.port).toBe(1883);
    expect(c.http.port).toBe(8080);
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.cityDir).toBe(DEFAULT_CITY_DIR);
    expect(c.adminToken).toBeUndefined();
    expect(c.stages).toEqual(['broker', 'ingest', 'detectors', 'alerting', 'api']);
    expect(c.console).toEqual({ tileUrl: undefined, tileAttribution: undefined });
  });

  it('takes an optional map tile URL template for the console', () => {
    const c = loadConfig({ STREETWATCH_MAP_TILES: 'https://tiles.example.com/{z}/{x}/{y}.png', STREETWATCH_MAP_ATTRIBUTION: '© Example' });
    expect(c.console).toEqual({ tileUrl: 'https://tiles.example.com/{z}/{x}/{y}.png', tileAttribution: '© Example' });
  });

  it('reads ports, dirs, stages and treats empty strings as unset', () => {
    const c = loadConfig({ MQTT_PORT: '2883', HTTP_PORT: '', STREETWATCH_STAGES: 'ingest, detectors', STREETWATCH_DATA_DIR: '/tmp/sw' });
    expect(c.mqtt.port).toBe(2883);
    expect(c.http.port).toBe(8080);
    expect(c.stages).toEqual(['ingest', 'detectors']);
    expect(c.dataDir).toBe('/tmp/sw');
  });

  it.each([
    ['MQTT_PORT', 'abc'],
    ['HTTP_PORT', '70000'],
    ['STREETWATCH_ADMIN_TOKEN', 'short'],
    ['STREETWATCH_OPERATOR_TOKEN', 'has a space in it, so no'],
    ['STREETWATCH_STAGES', 'ingest,teleport'],
    ['LOG_LEVEL', 'loud'],
    ['STREETWATCH_MAP_TILES', 'https://tiles.example.com/world.png'],
  ])('names the variable when %s=%s is bad', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(expect.objectContaining({ code: 'SW_ERR_CONFIG_ENV', message: expect.stringContaining(`environment variable ${variable}:`) }));
  });
});

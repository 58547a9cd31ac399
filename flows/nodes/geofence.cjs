'use strict';
/**
 * Processing node: tags a located message with its zone and sub-center (msg.zone, msg.subcenter,
 * msg.zoneIds), placing it exactly as the platform does. Output 1: in a zone the selector
 * accepts; output 2: elsewhere.
 */
const lib = require('../lib/streetwatch.cjs');

/** Messages waiting for the city to arrive, at most; beyond, they are refused. */
const MAX_WAITING = 10000;

module.exports = function (RED) {
  function StreetWatchGeofenceNode(config) {
    RED.nodes.createNode(this, config);
    const platform = RED.nodes.getNode(config.platform);
    if (!platform) return void this.status({ fill: 'red', shape: 'ring', text: 'no platform configured' });
    const locationProperty = config.location || 'payload.loc';
    let selector;
    let connection;
    try {
      selector = lib.parseZoneSelector({ zoneIds: config.zoneIds, kind: config.zoneKind, tags: config.zoneTags, risk: config.zoneRisk });
      connection = platform.use(this);
    } catch (err) {
      this.error(lib.CodedError.from(err));
      return void this.status({ fill: 'red', shape: 'ring', text: err.message });
    }
    let waiting = 0;
    let closed = false;

    this.on('input', (msg, send, done) => {
      const loc = lib.parseLocation(RED.util.getMessageProperty(msg, locationProperty));
      if (!loc) return done(new lib.CodedError('SW_ERR_PAYLOAD_SCHEMA', `msg.${locationProperty} is not a location {lat, lon}`));
      const tag = (city) => {
        const t = lib.geofence(city, loc, selector);
        msg.zone = t.zone;
        msg.subcenter = t.subcenter;
        msg.zoneIds = t.zoneIds;
        send(t.zone ? [msg, null] : [null, msg]);
        done();
      };
      const city = connection.city();
      if (city) return tag(city);
      // Until the platform's city arrives: wait, in order (the promise queue is first in, first out).
      if (waiting >= MAX_WAITING) return done(new lib.CodedError('SW_ERR_UNAVAILABLE', 'the city has not arrived from the platform yet'));
      waiting++;
      connection.whenCity().then((c) => {
        waiting--;
        // Redeployed while waiting: this node's messages end here, unsent.
        if (closed) return done();
        tag(c);
      });
    });

    this.on('close', (done) => {
      closed = true;
      platform.release(this);
      done();
    });
  }
  RED.nodes.registerType('streetwatch-geofence', StreetWatchGeofenceNode);
};

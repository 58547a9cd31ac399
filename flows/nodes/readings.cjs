'use strict';
/** Input node: normalized readings from the platform, filtered by metric, device and zone. */
const lib = require('../lib/streetwatch.cjs');
const feed = require('./feed.cjs');

module.exports = function (RED) {
  function StreetWatchReadingsNode(config) {
    RED.nodes.createNode(this, config);
    feed.start(RED, this, config, () =>
      lib.readingsFilter({ kindOf: config.metric, device: config.device, zoneIds: config.zoneIds, kind: config.zoneKind, tags: config.zoneTags, risk: config.zoneRisk }),
    );
  }
  RED.nodes.registerType('streetwatch-readings', StreetWatchReadingsNode);
};

'use strict';
/** Input node: camera and analytics events from the platform, filtered by type, device and zone. */
const lib = require('../lib/streetwatch.cjs');
const feed = require('./feed.cjs');

module.exports = function (RED) {
  function StreetWatchCameraEventsNode(config) {
    RED.nodes.createNode(this, config);
    feed.start(RED, this, config, () =>
      lib.eventsFilter({ kindOf: config.eventType, device: config.device, zoneIds: config.zoneIds, kind: config.zoneKind, tags: config.zoneTags, risk: config.zoneRisk }),
    );
  }
  RED.nodes.registerType('streetwatch-camera-events', StreetWatchCameraEventsNode);
};

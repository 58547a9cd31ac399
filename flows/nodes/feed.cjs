'use strict';
/**
 * What the readings and camera-events nodes share: subscribe through the platform node, pass
 * on what lies in the zones asked for. Not a node (no .html), so Node-RED does not load it as one.
 */
const lib = require('../lib/streetwatch.cjs');

/** Starts a feed node; `makeFilter` builds its topic and zone filter from the node's settings. */
exports.start = function start(RED, node, config, makeFilter) {
  const platform = RED.nodes.getNode(config.platform);
  if (!platform) return void node.status({ fill: 'red', shape: 'ring', text: 'no platform configured' });
  let filter;
  let connection;
  try {
    filter = makeFilter();
    connection = platform.use(node);
  } catch (err) {
    node.error(lib.CodedError.from(err));
    return void node.status({ fill: 'red', shape: 'ring', text: err.message });
  }
  const unsubscribe = connection.subscribe(filter.topic, (topic, payload) => {
    let item;
    try {
      item = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (lib.inZones(connection.city(), item, filter.zones)) node.send({ topic, payload: item });
  });
  node.on('close', (done) => {
    unsubscribe();
    platform.release(node);
    done();
  });
};

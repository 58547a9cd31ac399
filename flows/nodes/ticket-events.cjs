'use strict';
/** Input node: ticket events (created, updated, overdue...) of one unit or all of them. */
const lib = require('../lib/streetwatch.cjs');

module.exports = function (RED) {
  function StreetWatchTicketEventsNode(config) {
    RED.nodes.createNode(this, config);
    const platform = RED.nodes.getNode(config.platform);
    if (!platform) return void this.status({ fill: 'red', shape: 'ring', text: 'no platform configured' });
    let filter;
    let connection;
    try {
      filter = lib.ticketsFilter({ unit: config.unit, events: config.events });
      connection = platform.use(this);
    } catch (err) {
      this.error(lib.CodedError.from(err));
      return void this.status({ fill: 'red', shape: 'ring', text: err.message });
    }
    const unsubscribe = connection.subscribe(filter.topic, (topic, payload) => {
      let event;
      try {
        event = JSON.parse(payload.toString());
      } catch {
        return;
      }
      if (!filter.events || filter.events.has(event.event)) this.send({ topic, payload: event });
    });
    this.on('close', (done) => {
      unsubscribe();
      platform.release(this);
      done();
    });
  }
  RED.nodes.registerType('streetwatch-ticket-events', StreetWatchTicketEventsNode);
};

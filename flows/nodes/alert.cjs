'use strict';
/**
 * Output node: raises an alert on the platform, which turns it into a ticket for the responsible
 * sub-center like any rule's. done() at the platform's acknowledgment, or with its coded error
 * (catch nodes see msg.error.code).
 */
const lib = require('../lib/streetwatch.cjs');

/** Recent messages kept to report a refusal that arrives after the acknowledgment. */
const RECENT = 1000;

module.exports = function (RED) {
  function StreetWatchAlertNode(config) {
    RED.nodes.createNode(this, config);
    const platform = RED.nodes.getNode(config.platform);
    if (!platform) return void this.status({ fill: 'red', shape: 'ring', text: 'no platform configured' });
    let connection;
    try {
      connection = platform.use(this);
    } catch (err) {
      this.error(lib.CodedError.from(err));
      return void this.status({ fill: 'red', shape: 'ring', text: err.message });
    }
    const settings = { ruleId: config.ruleId, grade: config.grade, category: config.category, department: config.department, summary: config.summary };
    const recent = new Map();
    const onLateError = (err) => {
      const msg = recent.get(err.ref);
      if (msg) this.error(err, msg);
    };
    connection.on('alert-error', onLateError);

    this.on('input', (msg, send, done) => {
      let alert;
      try {
        alert = lib.operatorAlertFrom(msg, settings, RED.util.generateId());
      } catch (err) {
        return done(lib.CodedError.from(err));
      }
      recent.set(alert.ref, msg);
      if (recent.size > RECENT) recent.delete(recent.keys().next().value);
      connection.raiseAlert(alert).then(
        () => {
          this.status({ fill: alert.status === 'firing' ? 'red' : 'green', shape: 'dot', text: `${alert.status}: ${alert.deviceId}` });
          done();
        },
        (err) => {
          this.status({ fill: 'red', shape: 'ring', text: err.code || 'refused' });
          done(err);
        },
      );
    });

    this.on('close', (done) => {
      connection.off('alert-error', onLateError);
      platform.release(this);
      done();
    });
  }
  RED.nodes.registerType('streetwatch-alert', StreetWatchAlertNode);
};

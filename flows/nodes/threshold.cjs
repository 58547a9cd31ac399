'use strict';
/**
 * Processing node: the detectors' threshold rule (hysteresis, duration by event time, readings
 * in a row) per subject. Sends a message only on a transition, with msg.threshold = {status, startsAt, bound,
 * value, ts}. State is kept in the node's context, so a persistent context store keeps it
 * across restarts.
 */
const lib = require('../lib/streetwatch.cjs');

const CONTEXT_KEY = 'thresholds';

module.exports = function (RED) {
  function StreetWatchThresholdNode(config) {
    RED.nodes.createNode(this, config);
    let tracker;
    try {
      const settings = lib.parseThresholdSettings({ above: config.above, below: config.below, clearBelow: config.clearBelow, clearAbove: config.clearAbove, for: config.duration, consecutive: config.consecutive });
      tracker = new lib.ThresholdTracker(settings, this.context().get(CONTEXT_KEY) || []);
    } catch (err) {
      this.error(new lib.CodedError('SW_ERR_CONFIG_FILE', `threshold settings: ${err.message}`));
      return void this.status({ fill: 'red', shape: 'ring', text: err.message });
    }
    const valueType = config.valueType === 'jsonata' ? 'jsonata' : 'msg';
    const valueProperty = config.value || 'payload.value';
    const expression = valueType === 'jsonata' ? RED.util.prepareJSONataExpression(valueProperty, this) : undefined;
    const tsProperty = config.ts || 'payload.ts';
    const subjectProperty = config.subject || 'topic';
    const showStatus = () => {
      const { pending, firing } = tracker.counts();
      this.status({ fill: firing > 0 ? 'red' : pending > 0 ? 'yellow' : 'green', shape: 'dot', text: `${firing} firing, ${pending} pending` });
    };
    showStatus();

    const valueOf = (msg) =>
      expression
        ? new Promise((resolve, reject) => RED.util.evaluateJSONataExpression(expression, msg, (err, v) => (err ? reject(err) : resolve(v))))
        : Promise.resolve(RED.util.getMessageProperty(msg, valueProperty));

    const handle = async (msg, send, done) => {
      let value = await valueOf(msg);
      if (typeof value === 'boolean') value = value ? 1 : 0;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return done(new lib.CodedError('SW_ERR_PAYLOAD_SCHEMA', `the value (${valueType === 'jsonata' ? 'expression' : `msg.${valueProperty}`}) is not a number`));
      }
      const ts = RED.util.getMessageProperty(msg, tsProperty);
      const subject = RED.util.getMessageProperty(msg, subjectProperty);
      const transition = tracker.evaluate(subject === undefined ? '' : String(subject), value, typeof ts === 'number' && Number.isFinite(ts) ? ts : Date.now());
      this.context().set(CONTEXT_KEY, tracker.entries());
      showStatus();
      if (transition) {
        msg.threshold = transition;
        send(msg);
      }
      done();
    };

    // One message at a time, in arrival order: an expression is evaluated asynchronously, and
    // the state machine ignores a reading older than the last, so order matters.
    let queue = Promise.resolve();
    this.on('input', (msg, send, done) => {
      queue = queue.then(() => handle(msg, send, done)).catch((err) => done(err));
    });
  }
  RED.nodes.registerType('streetwatch-threshold', StreetWatchThresholdNode);
};

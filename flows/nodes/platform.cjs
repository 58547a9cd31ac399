'use strict';
/**
 * Config node: the connection to one StreetWatch platform as an operator. Fields left empty
 * take the `streetwatchPlatform` runtime setting, which `npm run flows` fills from the
 * environment, so example flows need no credentials in them.
 */
const lib = require('../lib/streetwatch.cjs');

const STATUS = {
  connecting: { fill: 'yellow', shape: 'ring', text: 'connecting' },
  connected: { fill: 'green', shape: 'dot', text: 'connected' },
  disconnected: { fill: 'red', shape: 'ring', text: 'disconnected' },
  refused: { fill: 'red', shape: 'dot', text: 'refused: check the operator name and token' },
};

module.exports = function (RED) {
  function StreetWatchPlatformNode(config) {
    RED.nodes.createNode(this, config);
    const defaults = RED.settings.streetwatchPlatform || {};
    this.url = config.url || defaults.url || '';
    this.operator = config.operator || defaults.operator || 'flows';
    const token = (this.credentials && this.credentials.token) || defaults.token || '';
    const users = new Set();
    let connection = null;

    /** The shared connection for a node, whose status then follows it. Throws on bad settings. */
    this.use = (node) => {
      if (!connection) {
        if (!this.url) throw new lib.CodedError('SW_ERR_CONFIG_ENV', 'the platform has no broker URL');
        if (!token) throw new lib.CodedError('SW_ERR_BAD_CREDENTIALS', 'the platform has no operator token');
        connection = new lib.PlatformConnection({ url: this.url, operator: this.operator, token, clientSuffix: this.id });
        connection.on('status', (s) => users.forEach((n) => n.status(STATUS[s])));
        connection.on('connection-error', (err) => this.log(String(err)));
      }
      users.add(node);
      node.status(STATUS[connection.status]);
      return connection;
    };

    this.release = (node) => users.delete(node);

    this.on('close', (done) => {
      const c = connection;
      connection = null;
      if (!c) return done();
      c.close().then(() => done(), () => done());
    });

    /** `connecting`, `connected`, `disconnected` or `refused`; `idle` until a node uses the platform. */
    this.connectionStatus = () => (connection ? connection.status : 'idle');

    /** The city as last received, for the editor's suggestions. */
    this.outline = () => (connection && connection.city() ? connection.city().outline() : undefined);
  }

  RED.nodes.registerType('streetwatch-platform', StreetWatchPlatformNode, {
    credentials: { token: { type: 'password' } },
  });

  RED.httpAdmin.get('/streetwatch-platform/:id/city', RED.auth.needsPermission('streetwatch-platform.read'), (req, res) => {
    const node = RED.nodes.getNode(req.params.id);
    const outline = node && node.outline ? node.outline() : undefined;
    if (!outline) return res.status(404).json({ error: { code: 'SW_ERR_NOT_FOUND', message: 'no city yet: deploy the flow and let the platform connect' } });
    res.json(outline);
  });
};

# One image for every StreetWatch stage; infra/docker-compose.yml picks the stage with
# `npm start -- --stages <name>`. Without arguments it runs the embedded all-in-one mode.
FROM node:20-slim

ENV NODE_ENV=production
WORKDIR /app
RUN chown node:node /app
USER node

# Dependencies first, so that a source change does not reinstall them.
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --chown=node:node . .

# MQTT, HTTP (API, console, Open311)
EXPOSE 1883 8080
CMD ["npm", "start"]

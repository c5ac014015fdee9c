// Evaluates cases.json through the OpenFeature Node.js server SDK and its unchanged OFREP
// provider against the Bunting at argv[2] (the provider's base URL); prints one JSON line per
// case. Modules come from NODE_PATH.
const { OpenFeature } = require('@openfeature/server-sdk');
const { OFREPProvider } = require('@openfeature/ofrep-provider');
const cases = require('./cases.json');

async function main() {
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: process.argv[2] }));
  const client = OpenFeature.getClient();
  const methods = {
    boolean: client.getBooleanDetails.bind(client),
    string: client.getStringDetails.bind(client),
    number: client.getNumberDetails.bind(client),
    object: client.getObjectDetails.bind(client),
  };
  for (const c of cases) {
    const details = await methods[c.type](c.key, c.default, c.context);
    console.log(JSON.stringify({
      key: c.key,
      value: details.value,
      reason: details.reason ?? null,
      variant: details.variant ?? null,
      errorCode: details.errorCode ?? null,
    }));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

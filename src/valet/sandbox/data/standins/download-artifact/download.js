// valet sandbox stand-in for actions/download-artifact@v4 (one artifact of this run, by
// name), speaking the artifact service protocol through @actions/artifact (tools/node).
'use strict';
const os = require('os');
const path = require('path');

function lib(name) {
  const where = process.env.VALET_STANDIN_NODE_MODULES;
  if (!where) throw new Error('VALET_STANDIN_NODE_MODULES is not set (run this through valet\'s act runner)');
  return require(require.resolve(name, {paths: [where]}));
}

const core = lib('@actions/core');
// @actions/artifact refuses to run when GITHUB_SERVER_URL is not github.com (GHES has
// no v4 artifact service). Here act's artifact server plays the service, whatever the
// sandbox's server URL is, so the library is told it runs on github.com.
const serverUrl = process.env.GITHUB_SERVER_URL || '';
process.env.GITHUB_SERVER_URL = 'https://github.com';
const {DefaultArtifactClient} = lib('@actions/artifact');

async function main() {
  for (const unsupported of ['artifact-ids', 'pattern', 'github-token']) {
    if (core.getInput(unsupported)) throw new Error(`the sandbox stand-in does not serve \`${unsupported}\``);
  }
  const name = core.getInput('name');
  if (!name) throw new Error('the sandbox stand-in needs `name`');
  let dest = core.getInput('path') || process.env.GITHUB_WORKSPACE || process.cwd();
  if (dest.startsWith('~')) dest = path.join(os.homedir(), dest.slice(1));
  dest = path.resolve(dest);
  const client = new DefaultArtifactClient();
  const {artifact} = await client.getArtifact(name);
  const res = await client.downloadArtifact(artifact.id, {path: dest});
  if (res.digestMismatch) throw new Error(`the downloaded zip of ${name} does not match its digest`);
  core.info(`Artifact ${name} downloaded to ${dest}`);
  core.setOutput('download-path', dest);
}

main().catch((e) => core.setFailed(e && e.message ? e.message : String(e)));

/** The sum of a metric's series on an app's `/metrics` whose labels contain `labels` (every series when empty). */
export async function metricSum(appUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${appUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Renders a Vega-Lite spec to an SVG string without a browser: vega-lite
 * compiles it to Vega, and Vega's headless View (renderer 'none') writes the
 * scenegraph as SVG. No canvas is needed for SVG output; text widths are
 * estimated instead of measured.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

// Files the esbuild bundle inlines as strings (`import x from '…' with { type: 'text' }`):
// the balance page's HTML, CSS and browser modules, and uPlot's script and stylesheet.
declare module '*.html' {
  const text: string;
  export default text;
}
declare module '*.css' {
  const text: string;
  export default text;
}
declare module '*.mjs' {
  const text: string;
  export default text;
}
declare module 'uplot/dist/uPlot.iife.min.js' {
  const text: string;
  export default text;
}

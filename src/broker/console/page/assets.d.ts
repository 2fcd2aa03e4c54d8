// The page's scripts and style sheet are imported as text (src/broker/console/page.ts).
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*/page/app.js" {
  const text: string;
  export default text;
}
declare module "*/page/charts.js" {
  const text: string;
  export default text;
}
declare module "*/page/format.js" {
  const text: string;
  export default text;
}
declare module "*/page/topics.js" {
  const text: string;
  export default text;
}
declare module "*/page/clients.js" {
  const text: string;
  export default text;
}
declare module "*/page/latency.js" {
  const text: string;
  export default text;
}

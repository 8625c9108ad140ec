/** The node server: client protocol, HTTP endpoints, leader duties. */
export * from "./config.ts";
export * from "./node-server.ts";
export * from "./leader-duties.ts";
export * from "./cluster-upkeep.ts";
export * from "./http-routes.ts";
export { brokerHandlers } from "./handlers/index.ts";
export { NodeMetrics } from "../metrics/node-metrics.ts";
export type { MetricSources, NodeMetricsOptions } from "../metrics/node-metrics.ts";
export { LabelCap, OTHER_LABEL } from "../metrics/label-cap.ts";
export { SystemEvents } from "../sys/system-events.ts";
export type { SysForwarder } from "../sys/system-events.ts";
export * from "../sys/families.ts";
export * from "../sys/events.ts";
export { DeliveryPath } from "./delivery/delivery-path.ts";
export type { DeliveryPathParts, DeliveryPort } from "./delivery/delivery-path.ts";
export type { ClientSession } from "./session.ts";

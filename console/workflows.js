// What the console knows about each workflow: its name for people and its API collection.

export const WORKFLOWS = {
  claim: { label: "Claim", collection: "claims" },
  shipment: { label: "Shipment", collection: "shipments" },
  maintenance: { label: "Maintenance order", collection: "maintenance-orders" },
};

export const ACTIVE = ["Pending", "Running", "Suspended"];
export const STATUSES = ["Pending", "Running", "Suspended", "Completed", "Failed", "Terminated"];

/** The instance page's address for an instance id. */
export function instanceLink(instanceId) {
  return `#/instance/${encodeURIComponent(instanceId)}`;
}

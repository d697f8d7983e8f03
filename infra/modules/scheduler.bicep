// The Durable Task Scheduler backend: a managed scheduler and the app's task hub in it, and the
// app identity's data-plane role on that task hub. Deployed only when main.bicep's
// durableBackend is DurableTaskScheduler; the app then reaches it over gRPC with its managed
// identity (no key exists for the scheduler).

@description('Scheduler name: 3-64 letters, digits and dashes.')
@minLength(3)
@maxLength(64)
param name string

param location string
param tags object = {}

@description('Task hub name; host.json names the same hub through TASKHUB_NAME.')
@minLength(3)
@maxLength(64)
param taskHubName string

@description('Consumption: billed per action, up to 500 actions/s. Dedicated: capacity units of 2,000 actions/s each.')
@allowed([
  'Consumption'
  'Dedicated'
])
param sku string = 'Consumption'

@description('Capacity units of a Dedicated scheduler (3 for high availability); ignored by Consumption.')
@minValue(1)
@maxValue(3)
param capacity int = 1

@description('IPv4/IPv6 addresses or CIDR ranges allowed to reach the scheduler. An empty list refuses every caller, the app included.')
@minLength(1)
param ipAllowlist array

@description('Principal (object) id of the app identity.')
param principalId string

var roles = {
  // Every data operation: orchestrations, entities, and the scheduler's dashboard.
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402'
}

var dedicatedSku = {
  name: 'Dedicated'
  capacity: capacity
}
var consumptionSku = {
  name: 'Consumption'
}

resource scheduler 'Microsoft.DurableTask/schedulers@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: ipAllowlist
    // Consumption takes no capacity.
    sku: sku == 'Dedicated' ? dedicatedSku : consumptionSku
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2026-02-01' = {
  parent: scheduler
  name: taskHubName
}

resource dataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskHub.id, principalId, roles.durableTaskDataContributor)
  scope: taskHub
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.durableTaskDataContributor)
  }
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint

// Optional private networking: the app's outbound traffic enters a VNet, and storage (blob,
// queue, table) and Key Vault are reached through private endpoints resolved by private DNS.

param namePrefix string
param location string
param tags object = {}

@description('Address space of the VNet; it must contain both subnets.')
param addressPrefix string

@description('Subnet the app joins; /24 leaves room for Flex Consumption to scale out.')
param appSubnetPrefix string

param endpointSubnetPrefix string

param storageAccountId string
param keyVaultId string

// One private endpoint per storage service the task hub uses, and one for the vault. Zone
// names are those of Azure's public cloud.
var endpoints = [
  {
    name: 'blob'
    resourceId: storageAccountId
    zone: 'privatelink.blob.${environment().suffixes.storage}'
  }
  {
    name: 'queue'
    resourceId: storageAccountId
    zone: 'privatelink.queue.${environment().suffixes.storage}'
  }
  {
    name: 'table'
    resourceId: storageAccountId
    zone: 'privatelink.table.${environment().suffixes.storage}'
  }
  {
    name: 'vault'
    resourceId: keyVaultId
    zone: 'privatelink.vaultcore.azure.net'
  }
]

// Nothing reaches the subnets from the internet; traffic inside the VNet is allowed by the
// default rules.
resource nsg 'Microsoft.Network/networkSecurityGroups@2025-07-01' = {
  name: 'nsg-${namePrefix}'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'deny-internet-inbound'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: 'Internet'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2025-07-01' = {
  name: 'vnet-${namePrefix}'
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        // Flex Consumption joins a subnet delegated to Microsoft.App/environments.
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          // The app reaches partners and Entra ID on the internet from here, with no NAT gateway.
          // From API version 2025-07-01 a new subnet is private unless told otherwise: this keeps
          // the default outbound access every earlier deployment had.
          defaultOutboundAccess: true
          networkSecurityGroup: {
            id: nsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: endpointSubnetPrefix
          // Private endpoints only answer; nothing here starts a connection to the internet.
          defaultOutboundAccess: false
          networkSecurityGroup: {
            id: nsg.id
          }
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for endpoint in endpoints: {
    name: endpoint.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (endpoint, i) in endpoints: {
    parent: zones[i]
    name: vnet.name
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

// One at a time: endpoints on the same storage account created together can conflict.
@batchSize(1)
resource privateEndpoints 'Microsoft.Network/privateEndpoints@2025-07-01' = [
  for endpoint in endpoints: {
    name: 'pe-${namePrefix}-${endpoint.name}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: vnet.properties.subnets[1].id
      }
      privateLinkServiceConnections: [
        {
          name: endpoint.name
          properties: {
            privateLinkServiceId: endpoint.resourceId
            groupIds: [
              endpoint.name
            ]
          }
        }
      ]
    }
  }
]

resource dnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-07-01' = [
  for (endpoint, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: endpoint.name
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]

output appSubnetId string = vnet.properties.subnets[0].id

// The one identity the app runs as: storage, Key Vault and telemetry trust it, not keys.

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId

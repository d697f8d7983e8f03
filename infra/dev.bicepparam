// Development. Values only, never secrets: partner API keys are put into the Key Vault.
using './main.bicep'

param environmentName = 'dev'
param taskHubName = 'workflowsdev'
param autoApprovalLimit = 2000

// Zone-redundant storage without the geo copy; the plan stays in one zone.
param storageSku = 'Standard_ZRS'
param zoneRedundant = false
param maximumInstanceCount = 40
param instanceMemoryMB = 2048
param logRetentionInDays = 30
param appInsightsDisableLocalAuth = false

// Production. Values only, never secrets: partner API keys are put into the Key Vault.
using './main.bicep'

param environmentName = 'prod'
param taskHubName = 'workflowsprod'
param autoApprovalLimit = 2000

// The task hub holds every running workflow: geo-zone-redundant storage, zone-redundant plan.
param storageSku = 'Standard_GZRS'
param zoneRedundant = true
param maximumInstanceCount = 100
param instanceMemoryMB = 2048
param logRetentionInDays = 90
param appInsightsDisableLocalAuth = false

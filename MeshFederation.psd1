@{
    RootModule           = 'MeshFederation.dll'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '6f1f5a0e-3c2b-4d47-9a6e-2b7e0c4d9a51'
    Author               = 'MeshFederation contributors'
    CompanyName          = 'MeshFederation'
    Copyright            = '(c) MeshFederation contributors. MIT License.'
    Description          = 'Federate service meshes across Kubernetes and OpenShift clusters: OpenShift Service Mesh 2 federation (ServiceMeshControlPlane gateways, ServiceMeshPeer, Exported/ImportedServiceSet) on LoadBalancer or NodePort + haproxy; Istio / OSSM 3 multi-primary multi-network (Sail operator, shared root CA, remote secrets, east-west gateways, locality failover) and multi-mesh .global ServiceEntries; rendered from typed pipeline objects or a declarative topology.'
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('MeshFederation.format.ps1xml')
    TypesToProcess       = @('MeshFederation.types.ps1xml')
    HelpInfoURI          = 'https://github.com/meshfederation/MeshFederation/tree/main/docs'
    CmdletsToExport      = @(
        'ConvertTo-MeshFederationGraph'
        'ConvertTo-MeshManifest'
        'ConvertTo-MeshOssm3Federation'
        'Export-MeshManifest'
        'Export-MeshService'
        'Get-MeshControlPlane'
        'Get-MeshFederationPlan'
        'Get-MeshRootRotation'
        'Import-MeshService'
        'Import-MeshTopology'
        'New-FederationProxyConfig'
        'New-MeshCertificateAuthority'
        'New-MeshControlPlane'
        'New-MeshFailoverPolicy'
        'New-MeshPeer'
        'New-MeshTrafficSplit'
        'Remove-MeshFederation'
        'Start-MeshRootRotation'
        'Step-MeshRootRotation'
        'Sync-MeshFederation'
        'Test-MeshFederation'
        'Update-MeshRemoteSecret'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('Kubernetes', 'OpenShift', 'ServiceMesh', 'Istio', 'Maistra', 'OSSM', 'Federation', 'haproxy', 'PSEdition_Core', 'Linux', 'Windows', 'MacOS')
            LicenseUri   = 'https://github.com/meshfederation/MeshFederation/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/meshfederation/MeshFederation'
            ReleaseNotes = 'https://github.com/meshfederation/MeshFederation/blob/main/CHANGELOG.md'
        }
    }
}

#Requires -Version 7.4
# Issue 11 (live operations a cluster admin can trust), items 1-8, through the cmdlets against fake API servers in their
# own process (tests/MeshFederation.TestKube.Host), judged by kubectl.

BeforeAll {
    $modulePath = if ($env:MESHFED_MODULE_PATH) { $env:MESHFED_MODULE_PATH } else {
        Join-Path $PSScriptRoot '../../src/MeshFederation/bin/Release/net8.0/MeshFederation.psd1'
    }
    Import-Module $modulePath -Force
    Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
    $examples = Join-Path $PSScriptRoot '../../examples'
    $work = Join-Path ([System.IO.Path]::GetTempPath()) ('meshfed-pester-' + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory $work
    # Seed 001 without the addresses: they are read from the clusters.
    $seed001 = Get-Content (Join-Path $examples 'seed-001-blue-green.yaml') | Where-Object { $_ -notmatch 'ingressAddresses|LoadBalancer IP of blue' }
    function Write-Topology([string] $Name, [string[]] $Lines) {
        $path = Join-Path $work $Name
        Set-Content -Path $path -Value $Lines
        $path
    }
    $ourLabels = "    app.kubernetes.io/managed-by: meshfederation`n    federation.meshfederation.io/mesh: blue-mesh"
}
AfterAll { Remove-Item -Recurse -Force $work -ErrorAction Ignore }

Describe 'Removal touches only what Sync-MeshFederation created (items 1-3)' {
    BeforeAll {
        $kube = Start-TestKube -Cluster blue, green -Operator ossm2 -Namespace nfs-app-istio
        function kc([string] $Context) { kubectl --kubeconfig $kube.Kubeconfig --context $Context @args 2>&1 }
        $topology = Write-Topology 'removal.yaml' $seed001
        # Item 2: an admin created green's control-plane namespace before the module ran.
        kc green create namespace green-mesh-system | Out-Null
        Sync-MeshFederation -Path $topology -KubeConfig $kube.Kubeconfig -Confirm:$false
        # Item 1: objects with the module's labels that only a GitOps tool applied.
        $lookalikes = Join-Path $work 'lookalikes.yaml'
        Set-Content $lookalikes -Value @"
apiVersion: federation.maistra.io/v1
kind: ServiceMeshPeer
metadata:
  name: purple-mesh
  namespace: blue-mesh-system
  labels:
$ourLabels
spec:
  remote: {addresses: [10.9.9.9]}
  gateways: {ingress: {name: ingress-purple-mesh}, egress: {name: egress-purple-mesh}}
  security:
    trustDomain: purple-mesh.local
    clientID: purple-mesh.local/ns/purple-mesh-system/sa/egress-blue-mesh-service-account
    certificateChain: {kind: ConfigMap, name: purple-mesh-ca-root-cert}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: team-settings
  namespace: blue-mesh-system
  labels:
$ourLabels
data: {owner: platform-team}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-settings
  namespace: nfs-app-istio
  labels:
$ourLabels
data: {owner: app-team}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: legacy-route
  namespace: nfs-app-istio
  labels:
$ourLabels
spec:
  hosts: [legacy.nfs-app-istio.svc.cluster.local]
  http:
  - route:
    - destination: {host: dokuwiki.nfs-app-istio.svc.cluster.local}
"@
        kc blue apply --server-side --field-manager=gitops -f $lookalikes | Out-Null
        $plan = Get-MeshFederationPlan -Path $topology -KubeConfig $kube.Kubeconfig -Removal
        $outcomes = Remove-MeshFederation -Path $topology -KubeConfig $kube.Kubeconfig -Confirm:$false -PassThru
    }
    AfterAll { Stop-TestKube $kube }

    It 'plans to leave alone what other managers applied with its labels (item 1)' {
        $keep = $plan | Where-Object Action -eq 'Keep'
        $keep.Name | Sort-Object | Should -Be @('app-settings', 'legacy-route', 'purple-mesh', 'team-settings')
        foreach ($k in $keep) { $k.Reason | Should -Match 'did not create it' }
    }

    It 'deletes none of them (item 1)' {
        kc blue get servicemeshpeers.federation.maistra.io/purple-mesh configmap/team-settings -n blue-mesh-system -o name |
            Should -Be @('servicemeshpeer.federation.maistra.io/purple-mesh', 'configmap/team-settings')
        kc blue get configmap/app-settings virtualservices.networking.istio.io/legacy-route -n nfs-app-istio -o name |
            Should -Be @('configmap/app-settings', 'virtualservice.networking.istio.io/legacy-route')
    }

    It 'keeps the namespace an admin created and removes only its own labels (item 2)' {
        $labels = kc green get namespace green-mesh-system -o 'jsonpath={.metadata.labels}'
        $LASTEXITCODE | Should -Be 0
        $labels | Should -Not -Match 'meshfederation'
        $released = $outcomes | Where-Object { $_.Item.Kind -eq 'Namespace' -and $_.Item.Cluster -eq 'green' }
        $released.Done | Should -BeTrue
        $released.Item.Action | Should -Be 'Update'
    }

    It 'reports what it kept with the reason and counts only what is gone (item 3)' {
        $kept = $outcomes | Where-Object { $_.Item.Kind -eq 'Namespace' -and $_.Item.Cluster -eq 'blue' }
        $kept.Done | Should -BeFalse
        $kept.State | Should -Be 'Kept'
        $kept.Reason | Should -Match 'ConfigMap team-settings'
        $deleted = @($outcomes | Where-Object State -eq 'Deleted')
        $deleted.Count | Should -BeGreaterThan 5
        # One read per cluster of everything that is left: nothing counted as deleted is among it.
        $kinds = 'namespaces,configmaps,servicemeshcontrolplanes.maistra.io,servicemeshmemberrolls.maistra.io,servicemeshpeers.federation.maistra.io,exportedservicesets.federation.maistra.io,importedservicesets.federation.maistra.io,virtualservices.networking.istio.io'
        $template = '{range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name}{"\n"}{end}'
        foreach ($cluster in 'blue', 'green') {
            $left = kc $cluster get $kinds -A -o "jsonpath=$template"
            foreach ($o in $deleted | Where-Object { $_.Item.Cluster -eq $cluster }) {
                $left | Should -Not -Contain "$($o.Item.Kind) $($o.Item.Namespace)/$($o.Item.Name)" -Because "$($o.Item.Target) is counted as deleted"
            }
        }
        @($outcomes | Where-Object Done).Count | Should -Be @($outcomes | Where-Object { $_.State -in 'Deleted', 'Applied' }).Count
        $outcomes.Item.Name | Should -Not -Contain 'istio-ca-root-cert'
    }

    It 'finds nothing more to delete where the removal was complete (item 3)' {
        $again = Get-MeshFederationPlan -Path $topology -KubeConfig $kube.Kubeconfig -Removal
        $again | Where-Object Cluster -eq 'green' | Should -BeNullOrEmpty
        ($again | Where-Object Action -eq 'Delete').Target | Should -Be @('blue: Namespace blue-mesh-system')
    }
}

Describe 'Plans by server-side dry run, waits that mean ready (items 4-7)' {
    BeforeAll {
        $kube = Start-TestKube -Cluster blue, green -Operator ossm2 -Namespace nfs-app-istio -ReadyDelayMs 800 -CleanupDelayMs 3600000
        function kc([string] $Context) { kubectl --kubeconfig $kube.Kubeconfig --context $Context @args 2>&1 }
        $topology = Write-Topology 'plans.yaml' $seed001
        Sync-MeshFederation -Path $topology -KubeConfig $kube.Kubeconfig -Confirm:$false
    }
    AfterAll { Stop-TestKube $kube }

    It 'plans no change on a second run: what the server defaults is not a change (item 5)' {
        Get-MeshFederationPlan -Path $topology -KubeConfig $kube.Kubeconfig -ChangesOnly | Should -BeNullOrEmpty
    }

    It 'returns from a control-plane change only once the operator has seen it (item 4)' {
        $changed = Write-Topology 'changed.yaml' ($seed001 -replace 'imagePullPolicy: Always', 'imagePullPolicy: IfNotPresent')
        Sync-MeshFederation -Path $changed -KubeConfig $kube.Kubeconfig -Confirm:$false
        kc blue get smcp -n blue-mesh-system blue-mesh -o 'jsonpath={.metadata.generation}/{.status.observedGeneration}' | Should -Be '2/2'
    }

    It 'refuses a typo in overrides before writing anything, naming the object and the field (item 7)' {
        $before = kc blue get smcp -n blue-mesh-system blue-mesh -o 'jsonpath={.metadata.resourceVersion}'
        $typo = Write-Topology 'typo.yaml' ($seed001 -replace 'imagePullPolicy: Always', 'imagePullPolicyy: Always')
        Get-MeshFederationPlan -Path $typo -KubeConfig $kube.Kubeconfig -ErrorVariable planProblems -ErrorAction SilentlyContinue | Out-Null
        (($planProblems | ForEach-Object ToString) -join "`n") | Should -Match 'spec\.runtime\.defaults\.container\.imagePullPolicyy'
        Sync-MeshFederation -Path $typo -KubeConfig $kube.Kubeconfig -Confirm:$false -ErrorVariable problems -ErrorAction SilentlyContinue
        $text = ($problems | ForEach-Object ToString) -join "`n"
        $text | Should -Match 'ServiceMeshControlPlane blue-mesh-system/blue-mesh'
        $text | Should -Match 'spec\.runtime\.defaults\.container\.imagePullPolicyy'
        kc blue get smcp -n blue-mesh-system blue-mesh -o 'jsonpath={.metadata.resourceVersion}' | Should -Be $before
    }

    It 'refuses a Terminating namespace, and the live checks fail (item 6)' {
        kc green delete namespace green-mesh-system --wait=false | Out-Null
        Get-MeshFederationPlan -Path $topology -KubeConfig $kube.Kubeconfig -ErrorVariable problems -ErrorAction SilentlyContinue | Out-Null
        $text = ($problems | ForEach-Object ToString) -join "`n"
        $text | Should -Match 'green-mesh-system'
        $text | Should -Match 'Terminating'
        $ready = Test-MeshFederation -Path $topology -Live -KubeConfig $kube.Kubeconfig | Where-Object { $_.Mesh -eq 'green-mesh' -and $_.CheckId -eq 'OSSM2.ControlPlaneReady' }
        $ready.Status | Should -Be 'Fail'
        $ready.Message | Should -Match 'Terminating'
    }
}

Describe 'Seed 003 re-applies with no change (item 5)' {
    BeforeAll {
        $kube = Start-TestKube -Cluster cluster1, cluster2 -Operator sail -Namespace sample
        $null = New-MeshCertificateAuthority -Cluster cluster1, cluster2 -KeyAlgorithm EcdsaP256 -OutputPath (Join-Path $work 'certs') -Confirm:$false
        $topology = Write-Topology 'seed-003.yaml' ((Get-Content (Join-Path $examples 'seed-003-multi-primary.yaml')) + 'certificateAuthority:' + '  dir: certs')
        Sync-MeshFederation -Path $topology -KubeConfig $kube.Kubeconfig -Confirm:$false
    }
    AfterAll { Stop-TestKube $kube }

    It 'plans no change for the Deployments, Services and Sail resources the server defaulted' {
        Get-MeshFederationPlan -Path $topology -KubeConfig $kube.Kubeconfig -ChangesOnly | Should -BeNullOrEmpty
        (Get-MeshFederationPlan -Path $topology -KubeConfig $kube.Kubeconfig | Where-Object Kind -eq 'Deployment').Action | Should -Be @('Unchanged', 'Unchanged')
    }
}

Describe 'In-cluster configuration and oidc users (item 8)' {
    BeforeAll {
        $kube = Start-TestKube -Cluster blue -Operator ossm2
        $one = Write-Topology 'one.yaml' @('apiVersion: meshfederation.io/v1alpha1', 'kind: FederationTopology', 'meshes:', '  - {name: blue-mesh, cluster: blue}')
        $server = [uri]$kube.Clusters[0].server
    }
    AfterAll { Stop-TestKube $kube }

    It 'uses the pod service account with -InCluster, and by itself when no kubeconfig exists' {
        $saved = @{ HOME = $env:HOME; KUBECONFIG = $env:KUBECONFIG }
        try {
            $env:KUBERNETES_SERVICE_HOST = $server.Host
            $env:KUBERNETES_SERVICE_PORT = "$($server.Port)"
            $env:MESHFED_SERVICEACCOUNT_DIR = $kube.ServiceAccount
            $env:HOME = (New-Item -ItemType Directory (Join-Path $work 'empty-home') -Force).FullName
            $env:KUBECONFIG = $null
            (Get-MeshFederationPlan -Path $one -InCluster | Where-Object Kind -eq 'ServiceMeshControlPlane').Action | Should -Be 'Create'
            (Get-MeshFederationPlan -Path $one | Where-Object Kind -eq 'ServiceMeshControlPlane').Action | Should -Be 'Create'
            Get-MeshControlPlane -ErrorVariable problems -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $problems | Should -BeNullOrEmpty
        }
        finally {
            $env:HOME = $saved.HOME
            $env:KUBECONFIG = $saved.KUBECONFIG
            Remove-Item Env:KUBERNETES_SERVICE_HOST, Env:KUBERNETES_SERVICE_PORT, Env:MESHFED_SERVICEACCOUNT_DIR -ErrorAction Ignore
        }
    }

    It 'refuses -InCluster together with -KubeConfig' {
        Get-MeshFederationPlan -Path $one -InCluster -KubeConfig $kube.Kubeconfig -ErrorVariable problems -ErrorAction SilentlyContinue | Out-Null
        (($problems | ForEach-Object ToString) -join "`n") | Should -Match 'cannot be combined'
    }

    It 'sends an oidc id-token, and points to kubelogin once it has expired' {
        $config = Get-Content $kube.Kubeconfig -Raw
        $oidc = Join-Path $work 'oidc-kubeconfig'
        Set-Content $oidc ($config.Replace("    token: $($kube.Token)", "    auth-provider:`n      name: oidc`n      config:`n        idp-issuer-url: https://idp.example.test`n        id-token: $($kube.OidcToken)"))
        (Get-MeshFederationPlan -Path $one -KubeConfig $oidc | Where-Object Kind -eq 'ServiceMeshControlPlane').Action | Should -Be 'Create'
        Set-Content $oidc ($config.Replace("    token: $($kube.Token)", "    auth-provider:`n      name: oidc`n      config:`n        idp-issuer-url: https://idp.example.test`n        id-token: $($kube.ExpiredOidcToken)"))
        Get-MeshFederationPlan -Path $one -KubeConfig $oidc -ErrorVariable problems -ErrorAction SilentlyContinue | Out-Null
        # The problem is the message; the fix (kubelogin) is its RecommendedAction.
        $text = ($problems | ForEach-Object { "$_ $($_.ErrorDetails.RecommendedAction)" }) -join "`n"
        $text | Should -Match 'expired'
        $text | Should -Match 'kubelogin'
        $text | Should -Not -Match ([regex]::Escape($kube.ExpiredOidcToken))
    }
}

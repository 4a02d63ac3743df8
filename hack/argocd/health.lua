-- Argo CD health check for slotbook.io/Tenant.
--
-- Install it under resource.customizations.health.slotbook.io_Tenant in argocd-cm (see
-- docs/install.md and docs/examples/argocd-cm-tenant-health.yaml). Test cases:
-- hack/argocd/health_test.yaml, run by `make test` (hack/argocd/health_test.go).
--
-- The Tenant's status follows kstatus (README, "Status"):
--   Ready=True                     -> Healthy (Suspended when its reason is Suspended)
--   Stalled=True                   -> Degraded: a person must act (e.g. ClassNotFound)
--   Reconciling=True, Degraded     -> Degraded: provisioned once, a part stopped working
--                                     (e.g. the last backup failed)
--   Reconciling=True, otherwise    -> Progressing (Provisioning, ApplyFailed: retried)
--   generation not yet observed    -> Progressing
-- kstatus (Flux) reads a degraded Tenant as InProgress; Argo CD has a Degraded state for it.
local hs = {}

local function condition(conditions, type)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Slotbook operator to reconcile the Tenant"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the Slotbook operator to observe generation " .. tostring(generation)
  return hs
end

local conditions = obj.status.conditions
local stalled = condition(conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. describe(stalled, "a person must act")
  return hs
end

local ready = condition(conditions, "Ready")
if ready ~= nil and ready.status == "True" then
  if ready.reason == "Suspended" then
    hs.status = "Suspended"
  else
    hs.status = "Healthy"
  end
  hs.message = describe(ready, "Tenant is ready")
  return hs
end

local reconciling = condition(conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  if reconciling.reason == "Degraded" then
    -- Name what stopped working, with the part's own message.
    local failing = {}
    for _, part in ipairs({"NamespaceReady", "DatabaseReady", "BackupsHealthy", "CertificateReady", "AppReady"}) do
      local c = condition(conditions, part)
      if c ~= nil and c.status ~= "True" then
        table.insert(failing, part .. ": " .. describe(c, c.reason or "not ready"))
      end
    end
    hs.status = "Degraded"
    if #failing > 0 then
      hs.message = table.concat(failing, "; ")
    else
      hs.message = describe(reconciling, "a part of the tenant stopped working")
    end
    return hs
  end
  hs.status = "Progressing"
  hs.message = (reconciling.reason or "Reconciling") .. ": " .. describe(reconciling, "the operator is working on it")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Tenant to become ready")
return hs

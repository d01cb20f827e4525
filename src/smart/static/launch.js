// SMART App Launch, first leg: check the EHR (iss) is one this app is registered with, then let fhirclient do
// discovery (.well-known/smart-configuration) and the authorization-code request with PKCE S256.
(function () {
  'use strict';
  const status = document.getElementById('status');
  const config = window.ITCDS_CONFIG;
  const params = new URLSearchParams(window.location.search);
  const iss = (params.get('iss') || '').replace(/\/+$/, '');
  const launch = params.get('launch');

  function fail(message) {
    status.textContent = message;
    status.className = 'error';
  }

  if (!iss) {
    fail('This app opens from the EHR: the launch is missing the EHR address (iss). Open it from the chart.');
    return;
  }
  if (config.allowedIssuers.indexOf(iss) < 0) {
    fail('This app is not registered with the EHR at ' + iss + ', so it will not sign in there. Ask your administrator to register it, or open the app from your EHR.');
    return;
  }
  // An EHR launch carries the patient in the launch context; a standalone launch asks the EHR to pick one.
  const scope = launch ? config.scope : config.scope.replace(/\blaunch\b/, 'launch/patient');
  FHIR.oauth2
    .authorize({ clientId: config.clientId, scope: scope, redirectUri: config.redirectUri, pkceMode: 'required', iss: iss })
    .catch(function (error) {
      fail('Could not reach the EHR at ' + iss + ' to sign in: ' + (error && error.message ? error.message : String(error)));
    });
})();

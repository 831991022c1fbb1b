// Deprecated CDP method names that Chromium's dispatcher redirects to another domain
// ("redirect" in the protocol description). The filter decides on the name Chromium
// will really run, so `Page.deleteCookie` is judged as `Network.deleteCookie`.
// test/integration/cdp-aliases.test.ts checks this table against the live Chromium's /json/protocol.
export const REDIRECTS: Readonly<Record<string, string>> = Object.freeze({
  'DOM.hideHighlight': 'Overlay.hideHighlight',
  'DOM.highlightNode': 'Overlay.highlightNode',
  'DOM.highlightRect': 'Overlay.highlightRect',
  'DOMDebugger.removeInstrumentationBreakpoint': 'EventBreakpoints.removeInstrumentationBreakpoint',
  'DOMDebugger.setInstrumentationBreakpoint': 'EventBreakpoints.setInstrumentationBreakpoint',
  'Network.setUserAgentOverride': 'Emulation.setUserAgentOverride',
  'Page.clearDeviceMetricsOverride': 'Emulation.clearDeviceMetricsOverride',
  'Page.clearDeviceOrientationOverride': 'DeviceOrientation.clearDeviceOrientationOverride',
  'Page.clearGeolocationOverride': 'Emulation.clearGeolocationOverride',
  'Page.deleteCookie': 'Network.deleteCookie',
  'Page.setDeviceMetricsOverride': 'Emulation.setDeviceMetricsOverride',
  'Page.setDeviceOrientationOverride': 'DeviceOrientation.setDeviceOrientationOverride',
  'Page.setGeolocationOverride': 'Emulation.setGeolocationOverride',
  'Page.setTouchEmulationEnabled': 'Emulation.setTouchEmulationEnabled',
  'Runtime.setAsyncCallStackDepth': 'Debugger.setAsyncCallStackDepth',
  // removed from recent Chromium but redirected by older builds: keep them judged as what they were
  'Page.getCookies': 'Network.getCookies',
  'Page.setDownloadBehavior': 'Browser.setDownloadBehavior',
})

/** The method Chromium will actually dispatch. */
export function effectiveMethod (method: string): string {
  return REDIRECTS[method] ?? method
}

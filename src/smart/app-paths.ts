/** Where the SMART app lives, relative to the public base URL. */
export const APP_LAUNCH_PATH = '/app/launch.html';
/** The app's OAuth redirect URI, relative to the public base URL. */
export const APP_REDIRECT_PATH = '/app/index.html';

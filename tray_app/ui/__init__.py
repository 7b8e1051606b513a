"""The Qt desktop layer: tray icon, menus and windows. The only package allowed to import Qt."""

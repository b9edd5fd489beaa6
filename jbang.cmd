@echo off
rem jbang.cmd: ./jbang for Windows cmd. jbang.ps1 beside it does the work (see there), run by Windows PowerShell:
rem   jbang.cmd                       the steps
rem   jbang.cmd ^<alias^> [args...]     e.g. jbang.cmd lab start --detach, from any folder
rem   for /f "delims=" %%i in ('jbang.cmd lab env --shell cmd') do %%i      (the lab's settings into this cmd)
rem Arguments pass through PowerShell -File: one with a double quote inside may not arrive intact.
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0jbang.ps1" %*
exit /b %ERRORLEVEL%
